from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.enums import ActionStatus, FindingKind
from app.schemas.common import Schema


class ReportSummary(Schema):
    id: int
    force: str
    programme: str
    year: str = Field(validation_alias="year_label")
    start_year: int
    pillar: str | None
    title: str
    reference_prefix: str
    source_sha256: str
    imported_at: datetime
    updated_at: datetime
    finding_count: int = 0


class SectionOut(Schema):
    id: int
    heading: str
    parent_id: int | None
    position: int
    paragraphs: list[str]


class ActionBrief(Schema):
    id: int
    reference: str
    status: ActionStatus


class FindingOut(Schema):
    id: int
    report_id: int
    reference: str
    kind: FindingKind
    section_id: int | None
    question: str | None
    text: str
    subpoints: list[str]
    context: str | None
    position: int
    withdrawn_at: datetime | None
    actions: list[ActionBrief]


class ReportDetail(ReportSummary):
    sections: list[SectionOut]
    findings: list[FindingOut]


class ParsedFindingOut(Schema):
    reference: str
    kind: FindingKind
    question: str | None
    text: str
    subpoints: list[str]


class ParseResult(Schema):
    """The shape of `afi parse --json` and of `POST /reports?dry_run=true`."""

    force: str
    programme: str
    year: str
    pillar: str | None
    title: str
    findings: list[ParsedFindingOut]


class DryRunResult(ParseResult):
    warnings: list[str]


class ImportResult(Schema):
    created: bool
    changed: bool
    added: int
    updated: int
    withdrawn: int
    warnings: list[str]
    report: ReportDetail
