"""Rows for the scale benchmark, shaped as the import path and the services write them.

One report at a time: its report, section, finding, action, action_event and evidence rows as
dicts keyed by column name (bench/scale_data.py inserts them in bulk). Identifiers are given
here, so that rows can refer to each other without reading anything back. The values the
import path computes (identity key, reference prefix, finding references, action titles and
descriptions, priorities by kind) come from the application's own functions.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.enums import ActionStatus, FindingKind, Priority
from app.services.imports import _PRIORITY_BY_KIND, action_description, action_title
from app.services.imports import identity_key as make_identity_key
from app.services.references import candidate_prefixes, finding_reference, slug
from bench.dataset import STATUS_WEIGHTS

Row = dict[str, Any]

# The 43 territorial police forces of England and Wales.
FORCES = (
    "Avon and Somerset", "Bedfordshire", "Cambridgeshire", "Cheshire", "City of London",
    "Cleveland", "Cumbria", "Derbyshire", "Devon and Cornwall", "Dorset", "Durham",
    "Dyfed-Powys", "Essex", "Gloucestershire", "Greater Manchester", "Gwent", "Hampshire",
    "Hertfordshire", "Humberside", "Kent", "Lancashire", "Leicestershire", "Lincolnshire",
    "Merseyside", "Metropolitan Police", "Norfolk", "North Wales", "North Yorkshire",
    "Northamptonshire", "Northumbria", "Nottinghamshire", "South Wales", "South Yorkshire",
    "Staffordshire", "Suffolk", "Surrey", "Sussex", "Thames Valley", "Warwickshire",
    "West Mercia", "West Midlands", "West Yorkshire", "Wiltshire",
)  # fmt: skip
YEARS = range(2013, 2027)
# Programmes and the pillars (or themes) their reports are split by. PEEL has the four classic
# pillars and the areas of its later assessments; thematic inspections name their theme.
PROGRAMMES: dict[str, tuple[str | None, ...]] = {
    "PEEL": (
        "Effectiveness", "Efficiency", "Legitimacy", "Leadership", "Preventing crime",
        "Responding to the public", "Investigating crime", "Protecting vulnerable people",
        "Managing offenders", "Developing a positive workplace", "Good use of resources",
        "Treatment of the public", "Recording data about crime",
    ),
    "CDI": (None, "Crime recording", "Outcomes"),
    "JTAI": (
        "Domestic abuse", "Child sexual exploitation", "Neglect", "Children at risk",
        "Serious youth violence", "Sexual abuse in the family",
    ),
    "CUSTODY": (
        "Leadership and partnerships", "Pre-custody", "In the custody suite",
        "Release and transfer", "Health care",
    ),
    "THEMATIC": (
        "Vetting and misconduct", "Violence against women and girls", "Stalking and harassment",
        "Digital forensics", "Fraud", "Roads policing", "Hate crime", "Counter-terrorism",
        "Disclosure", "Rape investigation", "Modern slavery", "Missing children", "Cyber crime",
        "Firearms licensing", "Mental health", "Neighbourhood policing", "Call handling",
        "Race and policing", "Activism and impartiality", "Serious organised crime",
        "Offender management", "Child protection", "Wellbeing", "Probationer training",
        "Use of force", "Integrity", "Cautions and diversion", "Victim services",
        "Criminal justice", "Emergency response", "Leadership and culture",
        "Workforce planning", "Data quality", "Protective services", "Youth justice",
        "Public order", "Drugs", "Knife crime", "Burglary", "Organised immigration crime",
        "Honour-based abuse", "Evidence-led prosecutions", "Vulnerability",
    ),
}  # fmt: skip
HEADINGS_BY_KIND = {
    FindingKind.AREA_FOR_IMPROVEMENT: "Areas for improvement",
    FindingKind.CAUSE_OF_CONCERN: "Cause of concern",
    FindingKind.RECOMMENDATION: "Recommendations",
}
KINDS = tuple(HEADINGS_BY_KIND)
KIND_CUMULATIVE = (70, 85, 100)
QUESTION_TOPICS = (
    "keeping people safe and reducing crime", "investigating crime and managing offenders",
    "protecting vulnerable people", "tackling serious and organised crime",
    "planning for future demand", "treating people fairly", "developing its workforce",
    "using its resources", "engaging with local communities", "preventing anti-social behaviour",
    "responding to the public", "recording crime accurately", "supporting victims",
    "managing its custody suites", "upholding ethical standards", "using force lawfully",
)  # fmt: skip
VERBS = (
    "improve", "review", "strengthen", "evaluate", "develop", "publish", "monitor", "audit",
    "make sure of", "better understand", "assure itself of", "prioritise", "resource",
)  # fmt: skip
# Subjects of findings, with how often they come up: a word search selects a few per cent
# ("vetting", "safeguarding", "stalking") or less ("drones", "interpreters").
SUBJECTS: tuple[tuple[str, int], ...] = (
    ("supervision of investigations", 30), ("use of digital evidence", 20),
    ("workforce planning", 20), ("victim updates", 25), ("crime recording", 30),
    ("safeguarding referrals", 18), ("safeguarding of children at risk", 10),
    ("partnership working", 25), ("training records", 15), ("demand analysis", 15),
    ("vetting arrangements", 10), ("vetting of new recruits", 5), ("use of stop and search", 12),
    ("handling of 999 calls", 15), ("response times to emergencies", 15),
    ("management of registered sex offenders", 10), ("domestic abuse risk assessments", 18),
    ("stalking protection orders", 6), ("missing person investigations", 10),
    ("counter-corruption capability", 8), ("use of force reporting", 10),
    ("body-worn video", 8), ("custody records", 10), ("mental health triage", 8),
    ("out-of-court disposals", 8), ("hate crime recording", 6), ("fraud investigations", 10),
    ("neighbourhood policing teams", 15), ("problem-solving", 15), ("wellbeing support", 12),
    ("performance management", 15), ("information sharing", 12), ("data quality", 15),
    ("leadership development", 10), ("professional standards", 10),
    ("investigation plans", 15), ("forensic backlogs", 6), ("firearms licensing", 5),
    ("modern slavery referrals", 5), ("county lines intelligence", 7),
    ("cybercrime capability", 6), ("use of drones", 2), ("interpreters for victims", 2),
    ("road safety enforcement", 6), ("anti-social behaviour case reviews", 6),
    ("disclosure of unused material", 8), ("rape investigation outcomes", 7),
    ("child exploitation", 9), ("complaint handling", 8), ("estate and fleet costs", 5),
)  # fmt: skip
SUBJECT_NAMES = tuple(name for name, _ in SUBJECTS)
# Cumulative weights: random.choices would otherwise add them up on every call.
SUBJECT_CUMULATIVE = tuple(itertools.accumulate(weight for _, weight in SUBJECTS))
OUTCOMES = (
    "victims get a better service", "risks to vulnerable people are understood",
    "it can show its decisions are fair", "it meets future demand", "public trust improves",
    "officers and staff are properly supported", "crimes are recorded accurately",
)  # fmt: skip
FIRST_NAMES = (
    "Amira", "Ben", "Chloe", "Daniel", "Eleri", "Farah", "Gareth", "Hannah", "Imran", "Jess",
    "Kwame", "Laura", "Mohammed", "Niamh", "Owen", "Priya", "Rhys", "Sophie", "Tom", "Yusuf",
)  # fmt: skip
LAST_NAMES = (
    "Ahmed", "Baker", "Clarke", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal", "Jones",
    "Khan", "Lewis", "Morgan", "Nowak", "Owusu", "Patel", "Roberts", "Smith", "Taylor", "Wood",
)  # fmt: skip
TEAMS = (
    "Public Protection", "Crime and Justice", "Contact Management", "Professional Standards",
    "Neighbourhoods", "People Services", "Strategic Planning", "Intelligence",
)  # fmt: skip
ROW_CHANGING_EVENTS = frozenset(
    {
        "assigned",
        "unassigned",
        "updated",
        "transition",
        "signed_off",
        "sign_off_refused",
        "due_date_revised",
        "progress_updated",
    }
)
REVISION_REASONS = (
    "Dependent on the new records system, whose launch moved.",
    "Partner agency consultation took longer than planned.",
    "Re-scoped after the force management statement.",
    "Resources moved to a critical incident review.",
)  # fmt: skip
# How likely an action that is being worked on (or was) is to carry 0, 1, 2 or 3 progress updates.
PROGRESS_UPDATES_CUMULATIVE = (0.25, 0.6, 0.85, 1.0)
IMPORT_ACTOR = "hmicfrs-import"
STATUSES = tuple(ActionStatus(name) for name in STATUS_WEIGHTS)
STATUS_CUMULATIVE = tuple(itertools.accumulate(STATUS_WEIGHTS.values()))
# The walk through the workflow that ends in each status (app.services.workflow.ALLOWED).
PATHS: dict[ActionStatus, tuple[ActionStatus, ...]] = {
    ActionStatus.OPEN: (),
    ActionStatus.IN_PROGRESS: (ActionStatus.IN_PROGRESS,),
    ActionStatus.BLOCKED: (ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED),
    ActionStatus.PENDING_SIGN_OFF: (ActionStatus.IN_PROGRESS, ActionStatus.PENDING_SIGN_OFF),
    ActionStatus.COMPLETED: (
        ActionStatus.IN_PROGRESS,
        ActionStatus.PENDING_SIGN_OFF,
        ActionStatus.COMPLETED,
    ),
    ActionStatus.SUPERSEDED: (ActionStatus.SUPERSEDED,),
    ActionStatus.WITHDRAWN: (ActionStatus.WITHDRAWN,),
}
CLOSED = frozenset({ActionStatus.COMPLETED, ActionStatus.SUPERSEDED, ActionStatus.WITHDRAWN})


def report_identities(rng: random.Random) -> Iterator[tuple[str, str, str, str | None]]:
    """(force, programme, year label, pillar), each once, in random order; then the same again
    with a 'revisit' pillar, should more reports be needed than there are identities."""
    base = [
        (force, programme, year, pillar)
        for force in FORCES
        for year in YEARS
        for programme, pillars in PROGRAMMES.items()
        for pillar in pillars
    ]
    rng.shuffle(base)
    round_number = 1
    while True:
        for force, programme, year, pillar in base:
            label = (
                f"{year}/{(year + 1) % 100:02d}"
                if programme == "PEEL" and year >= 2021
                else str(year)
            )
            if round_number > 1:
                pillar = f"{pillar or programme} revisit {round_number}"
            yield force, programme, label, pillar
        round_number += 1


@dataclass
class Ids:
    """The next free identifier of each table."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


@dataclass
class ReportRows:
    rows: dict[str, list[Row]] = field(
        default_factory=lambda: {
            name: []
            for name in ("report", "section", "finding", "action", "action_event", "evidence")
        }
    )
    actions: int = 0


def owner_rows(rng: random.Random, count: int, now: datetime) -> list[Row]:
    rows = []
    for index in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        force = FORCES[index % len(FORCES)]
        rows.append(
            {
                "id": index,
                "name": f"{first} {last} ({index})",
                "email": f"{first.lower()}.{last.lower()}{index}@{slug(force).lower()}.police.uk",
                "team": f"{force} {rng.choice(TEAMS)}",
                "created_at": now - timedelta(days=rng.randint(30, 3000)),
                "updated_at": now - timedelta(days=rng.randint(0, 29)),
            }
        )
    return rows


class ReportMaker:
    """Makes the rows of one report after another, with identifiers carried across reports."""

    def __init__(self, *, rng: random.Random, owners: list[Row], now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.today = now.date()
        self.ids = Ids()
        self.prefixes: set[str] = set()
        self.owners = owners
        # A few owners carry many actions: draw owners with a skew.
        self.owner_cumulative = list(
            itertools.accumulate(1.0 / (1 + index % 40) for index in range(len(owners)))
        )

    def free_prefix(self, force: str, programme: str, year: str, pillar: str | None) -> str:
        """As app.services.imports._free_prefix, over the prefixes made so far."""
        candidates = candidate_prefixes(force=force, programme=programme, year=year, pillar=pillar)
        for candidate in candidates:
            if candidate not in self.prefixes:
                self.prefixes.add(candidate)
                return candidate
        suffix = 2
        while f"{candidates[-1]}-{suffix}" in self.prefixes:
            suffix += 1
        prefix = f"{candidates[-1]}-{suffix}"
        self.prefixes.add(prefix)
        return prefix

    def report(self, identity: tuple[str, str, str, str | None], findings: int) -> ReportRows:
        rng = self.rng
        force, programme, year, pillar = identity
        start_year = int(year[:4])
        published = datetime(start_year, 1, 1, 9, tzinfo=UTC) + timedelta(
            days=rng.randint(30, 500), seconds=rng.randint(0, 30_000)
        )
        imported_at = min(published, self.now - timedelta(days=1, seconds=rng.randint(0, 86_000)))
        out = ReportRows()
        report_id = self.ids.take("report")
        prefix = self.free_prefix(force, programme, year, pillar)
        title = f"{force} {programme} {year}"
        title = f"{title} – {pillar}" if pillar else title
        lines = [f"{force} {programme} {year}", *([pillar] if pillar else [])]
        topics = rng.sample(QUESTION_TOPICS, len(QUESTION_TOPICS))
        numbers: dict[FindingKind, int] = {}
        position = 0
        section_position = 0
        while position < findings:
            topic = topics[section_position % len(topics)]
            repeat = section_position // len(topics)
            heading = (
                f"How effective is the force at {topic}{f' ({repeat + 1})' if repeat else ''}?"
            )
            paragraph = (
                f"{force} has made progress with {self.subject()}, but inspectors found "
                f"{rng.randint(2, 40)} cases where {self.subject()} fell short."
            )
            section_id = self.ids.take("section")
            out.rows["section"].append(
                {
                    "id": section_id,
                    "report_id": report_id,
                    "parent_id": None,
                    "position": section_position,
                    "heading": heading,
                    "paragraphs": [paragraph],
                }
            )
            section_position += 1
            kind = rng.choices(KINDS, cum_weights=KIND_CUMULATIVE)[0]
            context = (
                "To address this, the force should:"
                if kind is not FindingKind.AREA_FOR_IMPROVEMENT and rng.random() < 0.4
                else None
            )
            lines += [heading, paragraph, HEADINGS_BY_KIND[kind], *([context] if context else [])]
            for _ in range(min(rng.randint(2, 6), findings - position)):
                numbers[kind] = numbers.get(kind, 0) + 1
                text, subpoints = self.finding_text(kind, force)
                lines.append(f"- {text}")
                lines += [f"  - {point}" for point in subpoints]
                self.finding(
                    out,
                    report_id=report_id,
                    section_id=section_id,
                    kind=kind,
                    reference=finding_reference(prefix, kind, numbers[kind]),
                    number=numbers[kind],
                    position=position,
                    text=text,
                    subpoints=subpoints,
                    context=context,
                    imported_at=imported_at,
                    force=force,
                )
                position += 1
        source = "\n".join(lines) + "\n"
        out.rows["report"].append(
            {
                "id": report_id,
                "force": force,
                "programme": programme,
                "year_label": year,
                "start_year": start_year,
                "pillar": pillar,
                "title": title,
                "identity_key": make_identity_key(
                    force=force, programme=programme, year=year, pillar=pillar
                ),
                "reference_prefix": prefix,
                "source_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
                "source_text": source,
                "imported_at": imported_at,
                "updated_at": imported_at,
            }
        )
        return out

    def subject(self) -> str:
        return self.rng.choices(SUBJECT_NAMES, cum_weights=SUBJECT_CUMULATIVE)[0]

    def finding_text(self, kind: FindingKind, force: str) -> tuple[str, list[str]]:
        rng = self.rng
        if kind is FindingKind.CAUSE_OF_CONCERN:
            text = (
                f"The force does not {rng.choice(VERBS)} its {self.subject()} well enough. "
                f"This means that {rng.choice(OUTCOMES).replace('it ', 'the force ')} is at risk."
            )
        elif kind is FindingKind.RECOMMENDATION:
            text = (
                f"Within {rng.choice((3, 6, 9, 12))} months, {force} should {rng.choice(VERBS)} "
                f"its {self.subject()} and its {self.subject()} so that {rng.choice(OUTCOMES)}."
            )
        else:
            text = (
                f"The force should {rng.choice(VERBS)} its {self.subject()} so that "
                f"{rng.choice(OUTCOMES)}."
            )
            if rng.random() < 0.3:
                text += f" This includes {self.subject()}."
        subpoints = (
            [f"{rng.choice(VERBS)} {self.subject()}" for _ in range(rng.randint(2, 4))]
            if rng.random() < 0.2
            else []
        )
        return text, subpoints

    def finding(
        self,
        out: ReportRows,
        *,
        report_id: int,
        section_id: int,
        kind: FindingKind,
        reference: str,
        number: int,
        position: int,
        text: str,
        subpoints: list[str],
        context: str | None,
        imported_at: datetime,
        force: str,
    ) -> None:
        rng = self.rng
        finding_id = self.ids.take("finding")
        # A few findings were dropped from a later version of their report (re-imported).
        withdrawn_at = self.later(imported_at, 30, 400) if rng.random() < 0.005 else None
        out.rows["finding"].append(
            {
                "id": finding_id,
                "report_id": report_id,
                "section_id": section_id,
                "kind": kind.value,
                "reference": reference,
                "number": number,
                "position": position,
                "text": text,
                "subpoints": subpoints,
                "context": context,
                "created_at": imported_at,
                "updated_at": withdrawn_at or imported_at,
                "withdrawn_at": withdrawn_at,
            }
        )
        self.action(
            out,
            report_id=report_id,
            finding_id=finding_id,
            reference=reference,
            kind=kind,
            text=text,
            subpoints=subpoints,
            imported_at=imported_at,
            withdrawn_at=withdrawn_at,
            force=force,
        )

    def later(self, moment: datetime, low_days: int, high_days: int) -> datetime:
        """A moment some days after `moment`, but not after now."""
        step = timedelta(
            days=self.rng.randint(low_days, high_days), seconds=self.rng.randint(0, 86_399)
        )
        return min(moment + step, self.now - timedelta(seconds=self.rng.randint(60, 86_400)))

    def action(
        self,
        out: ReportRows,
        *,
        report_id: int,
        finding_id: int,
        reference: str,
        kind: FindingKind,
        text: str,
        subpoints: list[str],
        imported_at: datetime,
        withdrawn_at: datetime | None,
        force: str,
    ) -> None:
        rng = self.rng
        action_id = self.ids.take("action")
        out.actions += 1
        status = rng.choices(STATUSES, cum_weights=STATUS_CUMULATIVE)[0]
        priority = _PRIORITY_BY_KIND[kind] if rng.random() < 0.7 else rng.choice(tuple(Priority))
        owner = (
            None
            if rng.random() < 0.2
            else rng.choices(self.owners, cum_weights=self.owner_cumulative)[0]
        )
        due_date = (
            None
            if rng.random() < 0.15
            else imported_at.date() + timedelta(days=rng.randint(60, 1000))
        )
        editor = f"{slug(force).lower()}-editor"
        actor = f"{editor} (for {owner['name']})" if owner else editor
        events: list[Row] = []
        moment = imported_at

        def event(
            kind: str,
            changes: dict[str, Any],
            comment: str | None = None,
            at: datetime | None = None,
        ) -> None:
            events.append(
                {
                    "id": self.ids.take("action_event"),
                    "action_id": action_id,
                    "kind": kind,
                    "actor": IMPORT_ACTOR if kind == "created" else actor,
                    "token_id": None,
                    "created_at": at or moment,
                    "changes": changes,
                    "comment": comment,
                }
            )

        event("created", {})
        if owner is not None:
            moment = self.later(moment, 1, 30)
            event("assigned", {"owner_id": [None, owner["id"]]})
        original_due_date = due_date
        if due_date is not None and rng.random() < 0.25:
            moment = self.later(moment, 1, 30)
            event("updated", {"due_date": [None, due_date.isoformat()]})
        if due_date is not None and rng.random() < 0.12:
            moment = self.later(moment, 20, 200)
            revised = due_date + timedelta(days=rng.randint(30, 240))
            event(
                "due_date_revised",
                {"due_date": [due_date.isoformat(), revised.isoformat()]},
                rng.choice(REVISION_REASONS),
            )
            due_date = revised
        current = ActionStatus.OPEN
        closed_at = None
        superseded_by = None
        progress: dict[str, Any] = {"progress_note": None, "rag": None, "percent_complete": None}
        last_progress_at: datetime | None = None

        def progress_update(*, done: int, worried: float) -> None:
            nonlocal moment, last_progress_at
            moment = self.later(moment, 7, 90)
            rag = rng.choices(
                ("green", "amber", "red"), cum_weights=(1 - worried, 1 - worried / 3, 1)
            )[0]
            now = {
                "progress_note": (
                    f"Work on {self.subject()} is under way; "
                    f"next review with the {rng.choice(TEAMS)} team."
                ),
                "rag": rag,
                "percent_complete": done,
            }
            changes = {
                field: [progress[field], value]
                for field, value in now.items()
                if progress[field] != value
            }
            changes["last_progress_at"] = [
                last_progress_at.isoformat() if last_progress_at else None,
                moment.isoformat(),
            ]
            event("progress_updated", changes)
            progress.update(now)
            last_progress_at = moment

        for step in PATHS[status]:
            moment = self.later(moment, 5, 120)
            if step is ActionStatus.PENDING_SIGN_OFF:
                self.evidence(out, event, action_id=action_id, actor=actor, moment=moment)
                moment = self.later(moment, 0, 3)
            changes: dict[str, Any] = {"status": [current.value, step.value]}
            comment = None
            if step is ActionStatus.SUPERSEDED:
                superseded_by = rng.randint(1, action_id - 1) if action_id > 1 else None
                changes["superseded_by"] = {"action_id": superseded_by} if superseded_by else None
                comment = "Replaced by a later recommendation covering the same ground."
            elif step is ActionStatus.WITHDRAWN:
                comment = "No longer applicable after the force's restructure."
            elif step is ActionStatus.BLOCKED:
                comment = f"Waiting on {self.subject()} from a partner agency."
            kind_name = "signed_off" if step is ActionStatus.COMPLETED else "transition"
            event(kind_name, changes, comment)
            current = step
            if step in CLOSED:
                closed_at = moment
            if step is ActionStatus.IN_PROGRESS:
                count = rng.choices(range(4), cum_weights=PROGRESS_UPDATES_CUMULATIVE)[0]
                for number in range(1, count + 1):
                    progress_update(done=min(95, number * rng.randint(10, 35)), worried=0.3)
        if status is ActionStatus.OPEN and rng.random() < 0.15:
            progress_update(done=rng.randint(0, 15), worried=0.6)
        if status is ActionStatus.OPEN and rng.random() < 0.1:
            self.evidence(
                out, event, action_id=action_id, actor=actor, moment=self.later(moment, 1, 60)
            )
        if rng.random() < 0.08:
            moment = self.later(moment, 1, 60)
            event("comment", {}, f"Discussed at the {rng.choice(TEAMS).lower()} board.")
        if withdrawn_at is not None:
            moment = max(moment, withdrawn_at)
            event("finding_withdrawn", {}, "The finding is no longer in the re-imported report.")
        updates = [row for row in events if row["kind"] in ROW_CHANGING_EVENTS]
        out.rows["action_event"] += events
        out.rows["action"].append(
            {
                "id": action_id,
                "finding_id": finding_id,
                "report_id": report_id,
                "reference": reference,
                "title": action_title(text=text),
                "description": action_description(text=text, subpoints=subpoints),
                "owner_id": owner["id"] if owner else None,
                "status": status.value,
                "priority": priority.value,
                "priority_rank": priority.rank,
                "due_date": due_date,
                "original_due_date": original_due_date,
                "progress_note": progress["progress_note"],
                "rag": progress["rag"],
                "percent_complete": progress["percent_complete"],
                "last_progress_at": last_progress_at,
                "created_at": imported_at,
                "updated_at": max((row["created_at"] for row in updates), default=imported_at),
                "closed_at": closed_at,
                "superseded_by_action_id": superseded_by,
                "superseded_by_finding_id": None,
                "version": 1 + len(updates),
            }
        )

    def evidence(
        self, out: ReportRows, event: Any, *, action_id: int, actor: str, moment: datetime
    ) -> None:
        rng = self.rng
        evidence_id = self.ids.take("evidence")
        is_link = rng.random() < 0.4
        url = (
            f"https://intranet.example.org/evidence/{action_id}/{evidence_id}" if is_link else None
        )
        out.rows["evidence"].append(
            {
                "id": evidence_id,
                "action_id": action_id,
                "kind": "link" if is_link else "note",
                "description": (
                    f"Minutes of the {rng.choice(TEAMS).lower()} meeting on {self.subject()}."
                ),
                "url": url,
                "file_sha256": None,
                "file_name": None,
                "media_type": None,
                "size_bytes": None,
                "created_at": moment,
                "created_by": actor,
                "deleted_at": None,
                "deleted_by": None,
            }
        )
        changes: dict[str, Any] = {
            "evidence_id": evidence_id,
            "kind": "link" if is_link else "note",
        }
        if url:
            changes["url"] = url
        event("evidence_added", changes, None, moment)
