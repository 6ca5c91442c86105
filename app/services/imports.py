"""Store a parsed report: create it, or bring a stored one up to date without losing any state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.enums import FindingKind, Priority
from app.models import Action, Finding, Report, Section
from app.parser import ParsedFinding, ParsedReport
from app.principal import Principal
from app.services import history
from app.services.matching import match_findings
from app.services.references import candidate_prefixes, finding_reference

_PRIORITY_BY_KIND = {
    FindingKind.AREA_FOR_IMPROVEMENT: Priority.MEDIUM,
    FindingKind.RECOMMENDATION: Priority.HIGH,
    FindingKind.CAUSE_OF_CONCERN: Priority.HIGH,
}
TITLE_LIMIT = 120


@dataclass
class ImportOutcome:
    report: Report
    created: bool
    added: int = 0
    updated: int = 0
    withdrawn: int = 0

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
        .options(selectinload(Report.sections), selectinload(Report.findings, Finding.actions))
    )
    now = clock.utcnow()
    if report is None:
        return _create(session=session, parsed=parsed, key=key, now=now, actor=actor)
    if report.source_sha256 == parsed.sha256:
        return ImportOutcome(report=report, created=False)
    return _update(session=session, report=report, parsed=parsed, now=now, actor=actor)


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
    findings = []
    for position, item in enumerate(parsed.findings):
        numbers[item.kind] = numbers.get(item.kind, 0) + 1
        findings.append(
            _new_finding(
                report=report,
                item=item,
                number=numbers[item.kind],
                position=position,
                section=sections.get(item.question or ""),
                now=now,
            )
        )
    report.findings = findings
    _store_new(session=session, findings=findings, actor=actor)
    return ImportOutcome(report=report, created=True, added=len(findings))


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
    reimported: list[tuple[Action, dict[str, list[object]]]] = []
    added: list[Finding] = []
    for position, item in enumerate(parsed.findings):
        section = sections.get(item.question or "")
        if position in pairs:
            finding = stored[pairs[position]]
            changes = _refresh_finding(
                finding=finding, item=item, position=position, section=section
            )
            if changes:
                finding.updated_at = now
                reimported.extend((action, changes) for action in finding.actions)
                outcome.updated += 1
            continue
        numbers[item.kind] = numbers.get(item.kind, 0) + 1
        added.append(
            _new_finding(
                report=report,
                item=item,
                number=numbers[item.kind],
                position=position,
                section=section,
                now=now,
            )
        )
    matched = set(pairs.values())
    withdrawn: list[tuple[Action, None]] = []
    for index, finding in enumerate(stored):
        if index not in matched and finding.withdrawn_at is None:
            finding.withdrawn_at = now
            finding.updated_at = now
            withdrawn.extend((action, None) for action in finding.actions)
            outcome.withdrawn += 1
    report.findings.extend(added)
    outcome.added = len(added)
    _store_new(session=session, findings=added, actor=actor)
    history.record_many(session=session, events=reimported, kind="reimported", actor=actor)
    history.record_many(
        session=session,
        events=withdrawn,
        kind="finding_withdrawn",
        actor=actor,
        comment="The finding is no longer in the re-imported report.",
    )
    return outcome


def _store_new(*, session: Session, findings: list[Finding], actor: Principal) -> None:
    """One flush for the whole report, so that the ORM sends each table's rows as one batch of
    INSERTs (a flush per finding costs time in proportion to all the objects so far), then one
    batch of history events for the new actions."""
    session.flush()
    created = ((action, None) for finding in findings for action in finding.actions)
    history.record_many(session=session, events=created, kind="created", actor=actor)


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
        section.position = position
        section.paragraphs = list(item.paragraphs)
        wanted[item.heading] = section
    for item in parsed.sections:
        wanted[item.heading].parent = wanted.get(item.parent or "")
    for heading, section in by_heading.items():
        if heading not in wanted:
            section.position = len(wanted) + section.position
    return wanted


def _new_finding(
    *,
    report: Report,
    item: ParsedFinding,
    number: int,
    position: int,
    section: Section | None,
    now: datetime,
) -> Finding:
    """A finding and its action, not yet in the report's collection (the caller adds them all
    at once) nor flushed."""
    kind = FindingKind(item.kind)
    reference = finding_reference(report.reference_prefix, kind, number)
    priority = _PRIORITY_BY_KIND[kind]
    action = Action(
        reference=reference,
        title=action_title(text=item.text),
        description=action_description(text=item.text, subpoints=item.subpoints),
        status="open",
        priority=priority,
        priority_rank=priority.rank,
        created_at=now,
        updated_at=now,
    )
    return Finding(
        kind=kind,
        reference=reference,
        number=number,
        position=position,
        text=item.text,
        subpoints=list(item.subpoints),
        context=item.context,
        section=section,
        created_at=now,
        updated_at=now,
        actions=[action],
    )


def _refresh_finding(
    *, finding: Finding, item: ParsedFinding, position: int, section: Section | None
) -> dict[str, list[object]]:
    """Bring a matched finding up to date; returns what a reader would see changed (old, new)."""
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
