"""Reading reports and findings."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from app.errors import NotFound, PayloadTooLarge
from app.models import Finding, Report
from app.parser import ParsedReport, parse_report
from app.principal import Principal
from app.schemas.reports import (
    DryRunResult,
    ImportResult,
    ParsedFindingOut,
    ParseResult,
    ReportDetail,
)
from app.services.imports import ImportOutcome, import_report
from app.services.references import candidate_prefixes, finding_reference
from app.settings import get_settings


def list_reports(
    *,
    session: Session,
    force: str | None = None,
    programme: str | None = None,
    year: str | None = None,
    pillar: str | None = None,
) -> Sequence[Report]:
    query = select(Report).options(undefer(Report.finding_count)).order_by(Report.id)
    if force:
        query = query.where(Report.force.ilike(force))
    if programme:
        query = query.where(Report.programme.ilike(programme))
    if year:
        query = query.where(Report.year_label == year)
    if pillar:
        query = query.where(Report.pillar.ilike(pillar))
    return session.scalars(query).all()


def any_report(*, session: Session) -> bool:
    return session.scalar(select(Report.id).limit(1)) is not None


def get_report(*, session: Session, report_id: int) -> Report:
    report = session.scalar(
        select(Report)
        .where(Report.id == report_id)
        .options(
            undefer(Report.finding_count),
            selectinload(Report.sections),
            selectinload(Report.findings).options(
                selectinload(Finding.actions), selectinload(Finding.section)
            ),
        )
    )
    if report is None:
        raise NotFound(f"No report with id {report_id}.")
    return report


def get_finding(*, session: Session, finding_id: int) -> Finding:
    finding = session.scalar(
        select(Finding)
        .where(Finding.id == finding_id)
        .options(selectinload(Finding.actions), selectinload(Finding.section))
    )
    if finding is None:
        raise NotFound(f"No finding with id {finding_id}.")
    return finding


def preview(*, parsed: ParsedReport) -> ParseResult:
    """The parse as a reader sees it, with the references an import would give a new report."""
    prefix = candidate_prefixes(
        force=parsed.force, programme=parsed.programme, year=parsed.year, pillar=parsed.pillar
    )[0]
    numbers: dict[str, int] = {}
    findings = []
    for item in parsed.findings:
        numbers[item.kind] = numbers.get(item.kind, 0) + 1
        findings.append(
            ParsedFindingOut(
                reference=finding_reference(prefix, item.kind, numbers[item.kind]),
                kind=item.kind,
                question=item.question,
                text=item.text,
                subpoints=item.subpoints,
            )
        )
    return ParseResult(
        force=parsed.force,
        programme=parsed.programme,
        year=parsed.year,
        pillar=parsed.pillar,
        title=parsed.title,
        findings=findings,
    )


def dry_run(*, raw: str | bytes, metadata: dict[str, str | None]) -> DryRunResult:
    parsed = parse_report(raw, **metadata)
    return DryRunResult(**preview(parsed=parsed).model_dump(), warnings=parsed.warnings)


def check_import_size(*, parsed: ParsedReport) -> None:
    """Refuse a report larger than one import may store (the setting `max_import_findings`):
    storing it would hold the database's write lock long enough for other writers to give up."""
    limit = get_settings().max_import_findings
    count = len(parsed.findings)
    if count > limit:
        raise PayloadTooLarge(
            f"The report has {count:,} findings; one import stores at most {limit:,} "
            "(setting AFI_MAX_IMPORT_FINDINGS). Split the report, or raise the limit.",
            findings=count,
            limit=limit,
        )


def load_text(
    *, session: Session, raw: str | bytes, metadata: dict[str, str | None], actor: Principal
) -> ImportOutcome:
    """Parse and store report text, without reading the stored report back (the command line
    prints one line per file). Parsing and the size check come before any database work."""
    parsed = parse_report(raw, **metadata)
    check_import_size(parsed=parsed)
    return import_report(session=session, parsed=parsed, actor=actor)


def import_text(
    *, session: Session, raw: str | bytes, metadata: dict[str, str | None], actor: Principal
) -> ImportResult:
    """Parse and store report text; the caller's transaction makes it all or nothing."""
    outcome = load_text(session=session, raw=raw, metadata=metadata, actor=actor)
    report = get_report(session=session, report_id=outcome.report.id)
    return ImportResult(
        created=outcome.created,
        changed=outcome.changed,
        added=outcome.added,
        updated=outcome.updated,
        withdrawn=outcome.withdrawn,
        warnings=outcome.warnings,
        report=ReportDetail.model_validate(report),
    )
