"""The committee pack as data: what the workbook and the printable page are drawn from.

Plain frozen dataclasses, not API schemas: a pack is never answered as JSON, only rendered
(app.services.pack_xlsx, app.services.pack_html) by pure functions of it, so that renderers are
tested without a database. Moments are timezone-aware; `tz` is the zone they are shown in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum

from app.enums import ActionStatus, Priority, Rag
from app.schemas.changes import ChangeKind, ChangesOut
from app.schemas.trend import TrendInterval, TrendOut


class PackFormat(StrEnum):
    XLSX = "xlsx"
    HTML = "html"


# How the pack names the service's values: for a committee, not for a program.
STATUS_LABELS: dict[str, str] = {
    ActionStatus.OPEN: "Open",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.BLOCKED: "Blocked",
    ActionStatus.PENDING_SIGN_OFF: "Pending sign-off",
    ActionStatus.COMPLETED: "Completed",
    ActionStatus.SUPERSEDED: "Superseded",
    ActionStatus.WITHDRAWN: "Withdrawn",
}
PRIORITY_LABELS: dict[str, str] = {priority: priority.capitalize() for priority in Priority}
RAG_LABELS: dict[str, str] = {rag: rag.capitalize() for rag in Rag}
NOT_ASSESSED = "Not assessed"
CHANGE_LABELS: dict[str, str] = {
    ChangeKind.STATUS_CHANGED: "Status changed",
    ChangeKind.NEWLY_OVERDUE: "Newly overdue",
    ChangeKind.DUE_DATE_REVISED: "Due date revised",
    ChangeKind.RAG_CHANGED: "RAG changed",
    ChangeKind.PROPOSED_FOR_CLOSURE: "Proposed for closure",
}
PERIOD_HEADINGS = {TrendInterval.MONTH: "Month ending", TrendInterval.QUARTER: "Quarter ending"}
AGEING_BANDS = ("0–30 days", "31–90 days", "91–180 days", "Over 180 days")


def label(labels: dict[str, str], value: str | None, missing: str = "") -> str:
    """`value` as the pack shows it: its label, itself if it has none, `missing` if None."""
    if value is None:
        return missing
    return labels.get(value, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class PackItem:
    """One action, with every column a committee reads."""

    action_id: int
    reference: str
    title: str
    report: str
    owner: str | None
    status: str
    priority: str
    original_due_date: date | None
    due_date: date | None
    due_date_revisions: int
    rag: str | None
    percent_complete: int | None
    last_progress_at: datetime | None
    progress_note: str | None
    days_overdue: int
    stale: bool

    @property
    def proposed_for_closure(self) -> bool:
        """Waiting for sign-off: the committee is asked to agree it is done."""
        return self.status == ActionStatus.PENDING_SIGN_OFF


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRag:
    """How many of a report's actions in the pack are assessed red, amber, green or not."""

    report_id: int
    report: str
    red: int = 0
    amber: int = 0
    green: int = 0
    not_assessed: int = 0

    @property
    def total(self) -> int:
        return self.red + self.amber + self.green + self.not_assessed


@dataclass(frozen=True, slots=True, kw_only=True)
class PackFigures:
    trend: TrendOut
    rag_by_report: tuple[ReportRag, ...]

    def ageing_counts(self) -> tuple[int, int, int, int]:
        """Overdue actions per band of AGEING_BANDS."""
        ageing = self.trend.ageing
        return (ageing.days_0_30, ageing.days_31_90, ageing.days_91_180, ageing.days_over_180)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pack:
    """What a committee is given for one selection of actions (a report, a force, a
    programme...), as it stood on `as_of`."""

    title: str
    # The filters that chose the actions, in words: (what, value) pairs.
    scope: tuple[tuple[str, str], ...]
    as_of: date
    generated_at: datetime
    tz: tzinfo
    items: tuple[PackItem, ...]
    changes: ChangesOut
    figures: PackFigures

    def local(self, moment: datetime) -> datetime:
        """`moment` in the pack's timezone, without the zone (as a spreadsheet holds it)."""
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def changes_left_out(self) -> str | None:
        """The line that says the changes shown are not all of the period's (None when they
        are): a pack holds one page of them (app.services.changes.MAX_CHANGES)."""
        if self.changes.next_cursor is None:
            return None
        return (
            f"Only the first {len(self.changes.items):,} changes are shown: more were left "
            "out. Narrow the filters or the period (GET /api/v1/changes gives them all, a "
            "page at a time)."
        )
