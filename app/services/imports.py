"""Store a parsed report: create it, or bring a stored one up to date without losing any state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.enums import ActionStatus, EventKind, FindingKind, Priority
from app.models import Action, Finding, Report, Section
from app.parser import ParsedFinding, ParsedReport
from app.principal import Principal
from app.services import history, outbox
from app.services.matching import match_findings
from app.services.references import candidate_prefixes, finding_reference

_PRIORITY_BY_KIND = {
    FindingKind.AREA_FOR_IMPROVEMENT: Priority.MEDIUM,
    FindingKind.RECOMMENDATION: Priority.HIGH,
    FindingKind.CAUSE_OF_CONCERN: Priority.HIGH,
}
_RANK_BY_KIND = {kind: priority.rank for kind, priority in _PRIORITY_BY_KIND.items()}
TITLE_LIMIT = 120
# New findings and actions are inserted as rows, not ORM objects (see _insert_findings).
_FINDING = cast(Table, Finding.__table__)
_ACTION = cast(Table, Action.__table__)


@dataclass
class ImportOutcome:
    report: Report
    created: bool
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added or self.updated or self.withdrawn)


def identity_key(*, force: str, programme: str, year: str, pillar: str | None) -> str:
    return "|".join(part.strip().casefold() for part in (force, programme, year, pillar or ""))


def action_title(*, text: str) -> str:
    """A short form of a finding: its first sentence, cut at a word boundary if still long."""
    first = text.split(". ", 1)[0].rstrip(".:;")
    if len(first) <= TITLE_LIMIT:
        return first
    return first[: TITLE_LIMIT - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def action_description(*, text: str, subpoints: list[str]) -> str:
    return "\n".join([text, *(f"- {point}" for point in subpoints)])


def import_report(*, session: Session, parsed: ParsedReport, actor: Principal) -> ImportOutcome:
    key = identity_key(
        force=parsed.force, programme=parsed.programme, year=parsed.year, pillar=parsed.pillar
    )
    report = session.scalar(
        select(Report)
        .where(Report.identity_key == key)
        .options(
            selectinload(Report.sections),
            selectinload(Report.findings).selectinload(Finding.actions),
        )
    )
    now = clock.utcnow()
    if report is None:
        outcome = _create(session=session, parsed=parsed, key=key, now=now, actor=actor)
    elif report.source_sha256 == parsed.sha256:
        outcome = ImportOutcome(report=report, created=False)
    else:
        outcome = _update(session=session, report=report, parsed=parsed, now=now, actor=actor)
    outcome.warnings = list(parsed.warnings)
    outbox.report_imported(session=session, outcome=outcome, actor=actor, at=now)
    return outcome


def _create(
    *, session: Session, parsed: ParsedReport, key: str, now: datetime, actor: Principal
) -> ImportOutcome:
    report = Report(
        force=parsed.force,
        programme=parsed.programme,
        year_label=parsed.year,
        start_year=parsed.start_year,
        pillar=parsed.pillar,
        title=parsed.title,
        identity_key=key,
        reference_prefix=_free_prefix(session=session, parsed=parsed),
        source_sha256=parsed.sha256,
        source_text=parsed.normalised_text,
        imported_at=now,
        updated_at=now,
    )
    session.add(report)
    sections = _sync_sections(report=report, parsed=parsed)
    numbers: dict[str, int] = {}
    new: list[_NewFinding] = []
    for position, item in enumerate(parsed.findings):
        numbers[item.kind] = numbers.get(item.kind, 0) + 1
        section = sections.get(item.question or "")
        new.append(_NewFinding(item, numbers[item.kind], position, section))
    _insert_findings(session=session, report=report, new=new, now=now, actor=actor)
    return ImportOutcome(report=report, created=True, added=len(new))


def _update(
    *, session: Session, report: Report, parsed: ParsedReport, now: datetime, actor: Principal
) -> ImportOutcome:
    outcome = ImportOutcome(report=report, created=False)
    report.title = parsed.title
    report.start_year = parsed.start_year
    report.source_sha256 = parsed.sha256
    report.source_text = parsed.normalised_text
    report.updated_at = now
    sections = _sync_sections(report=report, parsed=parsed)

    stored = list(report.findings)
    pairs = match_findings(stored, parsed.findings)
    numbers: dict[str, int] = {}
    for finding in stored:
        numbers[finding.kind] = max(numbers.get(finding.kind, 0), finding.number)
    reimported: list[tuple[int, dict[str, list[object]]]] = []
    added: list[_NewFinding] = []
    for position, item in enumerate(parsed.findings):
        section = sections.get(item.question or "")
        if position in pairs:
            finding = stored[pairs[position]]
            changes = _refresh_finding(
                finding=finding, item=item, position=position, section=section
            )
            if changes:
                finding.updated_at = now
                reimported.extend((action.id, changes) for action in finding.actions)
                outcome.updated += 1
            continue
        numbers[item.kind] = numbers.get(item.kind, 0) + 1
        added.append(_NewFinding(item, numbers[item.kind], position, section))
    matched = set(pairs.values())
    withdrawn: list[tuple[int, None]] = []
    for index, finding in enumerate(stored):
        if index not in matched and finding.withdrawn_at is None:
            finding.withdrawn_at = now
            finding.updated_at = now
            withdrawn.extend((action.id, None) for action in finding.actions)
            outcome.withdrawn += 1
    outcome.added = len(added)
    _insert_findings(session=session, report=report, new=added, now=now, actor=actor)
    history.record_many(
        session=session, events=reimported, kind=EventKind.REIMPORTED, actor=actor, at=now
    )
    history.record_many(
        session=session,
        events=withdrawn,
        kind=EventKind.FINDING_WITHDRAWN,
        actor=actor,
        comment="The finding is no longer in the re-imported report.",
        at=now,  # the moment the findings' withdrawn_at says
    )
    return outcome


class _NewFinding(NamedTuple):
    item: ParsedFinding
    number: int
    position: int
    section: Section | None


def _insert_findings(
    *, session: Session, report: Report, new: list[_NewFinding], now: datetime, actor: Principal
) -> None:
    """Store new findings, an action each and its "created" event as three batches of INSERTs.

    Objects would cost more than the rows: the ORM's per-object work for 10,000 findings and
    actions takes seconds, while SQLite's write lock is held."""
    session.flush()  # the report and its sections get their ids
    if not new:
        return
    finding_rows: list[dict[str, object]] = []
    action_rows: list[dict[str, object]] = []
    for item, number, position, section in new:
        kind = FindingKind(item.kind)
        reference = finding_reference(report.reference_prefix, kind, number)
        finding_rows.append(
            {
                "report_id": report.id,
                "section_id": section.id if section else None,
                "kind": kind,
                "reference": reference,
                "number": number,
                "position": position,
                "text": item.text,
                "subpoints": list(item.subpoints),
                "context": item.context,
                "created_at": now,
                "updated_at": now,
                "withdrawn_at": None,
            }
        )
        action_rows.append(
            {
                "report_id": report.id,
                "reference": reference,
                "title": action_title(text=item.text),
                "description": action_description(text=item.text, subpoints=item.subpoints),
                "status": ActionStatus.OPEN,
                "priority": _PRIORITY_BY_KIND[kind],
                "priority_rank": _RANK_BY_KIND[kind],
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    session.execute(insert(_FINDING), finding_rows)
    finding_ids = _ids_by_reference(session=session, model=Finding, report=report)
    for row in action_rows:
        row["finding_id"] = finding_ids[str(row["reference"])]
    session.execute(insert(_ACTION), action_rows)
    action_ids = _ids_by_reference(session=session, model=Action, report=report)
    created = ((action_ids[str(row["reference"])], None) for row in action_rows)
    # At the actions' created_at: their first states begin when they were made (the trend
    # counts an action as opened by its first state).
    history.record_many(
        session=session, events=created, kind=EventKind.CREATED, actor=actor, at=now
    )
    # The report's findings, if loaded, do not know of the rows inserted beside them.
    session.expire(report, ["findings"])


def _ids_by_reference(
    *, session: Session, model: type[Finding] | type[Action], report: Report
) -> dict[str, int]:
    """The ids of the report's findings or actions, by reference (unique, unlike position)."""
    rows = session.execute(select(model.reference, model.id).where(model.report_id == report.id))
    return {reference: id_ for reference, id_ in rows}


def _free_prefix(*, session: Session, parsed: ParsedReport) -> str:
    candidates = candidate_prefixes(
        force=parsed.force, programme=parsed.programme, year=parsed.year, pillar=parsed.pillar
    )
    taken = set(
        session.scalars(
            select(Report.reference_prefix).where(Report.reference_prefix.startswith(candidates[0]))
        )
    )
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    suffix = 2
    while f"{candidates[-1]}-{suffix}" in taken:
        suffix += 1
    return f"{candidates[-1]}-{suffix}"


def _sync_sections(*, report: Report, parsed: ParsedReport) -> dict[str, Section]:
    """Sections matched by heading; returns them by heading for the findings to point at."""
    by_heading = {section.heading: section for section in report.sections}
    wanted: dict[str, Section] = {}
    for position, item in enumerate(parsed.sections):
        section = by_heading.get(item.heading)
        if section is None:
            section = Section(heading=item.heading, paragraphs=[], position=position)
            report.sections.append(section)
        # Assigned only when changed: an unchanged section left clean costs the flush nothing.
        if section.position != position:
            section.position = position
        if section.paragraphs != item.paragraphs:
            section.paragraphs = list(item.paragraphs)
        wanted[item.heading] = section
    for item in parsed.sections:
        section, parent = wanted[item.heading], wanted.get(item.parent or "")
        if section.parent is not parent:
            section.parent = parent
    for heading, section in by_heading.items():
        if heading not in wanted:
            section.position = len(wanted) + section.position
    return wanted


def _refresh_finding(
    *, finding: Finding, item: ParsedFinding, position: int, section: Section | None
) -> dict[str, list[object]]:
    """Bring a matched finding up to date; returns what a reader would see changed (old, new)."""
    if finding.position != position:
        finding.position = position
    new_values: dict[str, object] = {
        "text": item.text,
        "subpoints": list(item.subpoints),
        "context": item.context,
        "question": section.heading if section else None,
        "withdrawn_at": None,
    }
    old_values: dict[str, object] = {
        "text": finding.text,
        "subpoints": finding.subpoints,
        "context": finding.context,
        "question": finding.section.heading if finding.section else None,
        "withdrawn_at": finding.withdrawn_at.isoformat() if finding.withdrawn_at else None,
    }
    changes = {
        field: [old_values[field], new]
        for field, new in new_values.items()
        if old_values[field] != new
    }
    if not changes:
        return changes
    old_title = action_title(text=finding.text)
    old_description = action_description(text=finding.text, subpoints=finding.subpoints)
    for action in finding.actions:
        # Only text the import wrote follows the report; a person's edits are kept.
        if action.title == old_title:
            action.title = action_title(text=item.text)
        if action.description == old_description:
            action.description = action_description(text=item.text, subpoints=item.subpoints)
    finding.text = item.text
    finding.subpoints = list(item.subpoints)
    finding.context = item.context
    finding.section = section
    finding.withdrawn_at = None
    return changes
