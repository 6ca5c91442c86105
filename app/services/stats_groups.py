"""What the stats group and count by, shared by today's statements (app.services.stats) and a
past day's (app.services.stats_past)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.enums import ActionStatus
from app.schemas.stats import StatsGroupBy
from app.services.action_filters import A, R
from app.services.stale_rule import STALE

STATUSES = tuple(status.value for status in ActionStatus)
# The action column counted by; force and pillar are counted per report and added up.
COUNTED_BY: dict[StatsGroupBy, ColumnElement[Any]] = {
    StatsGroupBy.STATUS: A.status,
    StatsGroupBy.OWNER: A.owner_id,
    StatsGroupBy.PRIORITY: A.priority,
    StatsGroupBy.RAG: A.rag,
    # Computed (1: stale, 0: not), shown as true and false.
    StatsGroupBy.STALE: case((STALE, 1), else_=0),
    StatsGroupBy.REPORT: A.report_id,
    StatsGroupBy.FORCE: A.report_id,
    StatsGroupBy.PILLAR: A.report_id,
}
REPORT_ATTRIBUTE = {StatsGroupBy.FORCE: R.force, StatsGroupBy.PILLAR: R.pillar}


class utc_day(FunctionElement[date]):
    """The UTC day of a stored moment, on either database."""

    type = Date()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as UTC text (`2030-01-15 09:30:00.000001+00:00`, app.models.base): the day is its
    # first ten characters, at a fraction of what date() costs over many rows.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


def group_figures(
    counts: dict[str, int],
    overdue: int,
    oldest: dict[str, Any] | None,
    on_time: tuple[int, int] | None,
) -> dict[str, Any]:
    """A group's figures as the answer shows them (the totals' too)."""
    total = sum(counts.values())
    on_original, on_revised = on_time or (0, 0)
    completed = counts[ActionStatus.COMPLETED.value]
    return {
        "counts": counts,
        "total": total,
        "overdue": overdue,
        "completed_share": completed / total if total else 0.0,
        "oldest_overdue": oldest,
        "completed_on_time_original": on_original,
        "completed_on_time_revised": on_revised,
    }
