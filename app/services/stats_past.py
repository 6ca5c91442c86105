"""A past day's stats: every figure per group and status in one pass over the states that held
at the end of the day (app.services.as_of), where today's take a statement each over the action
table's per-group indexes (app.services.stats). The states have no per-group index: each of
those statements would read every state that held again, and the oldest overdue action of each
group once more per group.

Without filters other than statuses, and by a group the tallies keep (not by report or stale),
a past day is answered as today's figures corrected by the states that changed since
(app.services.stats_delta), which runs the same statement over those states only.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
)

from app.db import Reader
from app.enums import ActionStatus
from app.schemas.stats import StatsGroupBy
from app.services.action_filters import A, R, filter_conditions
from app.services.as_of import at_day
from app.services.overdue_rule import OVERDUE, days_between
from app.services.stats_groups import COUNTED_BY, REPORT_ATTRIBUTE, STATUSES, utc_day
from app.services.stats_tallied import Overdue

_REPORT = R.id.table

# The oldest overdue action of a group as one number, so that one MIN() over a pass finds it:
# days from _EPOCH to its due date, times 2**32, plus its id (ids stay below 2**32).
_EPOCH = date(1970, 1, 1)
_ID_BITS = 32


def _sum_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


@lru_cache(maxsize=128)
def figures_statement(
    shape: tuple[str, ...], group_by: StatsGroupBy, with_oldest: bool = True
) -> Select[Any]:
    """A past day's figures per group and status in one pass over the states that held (the
    counts, the overdue count and oldest, the on-time figures), where today's take three
    statements over the action table's per-group indexes: the states have no such index, and
    each statement would read every state that held (app.services.as_of). Without
    `with_oldest`, the oldest is NULL (not computed per overdue state)."""
    key = COUNTED_BY[group_by]
    oldest = (
        days_between(bindparam("epoch", _EPOCH, type_=Date()), A.due_date)
        * literal_column(str(2**_ID_BITS))
        + A.id
    )
    completed = A.status == ActionStatus.COMPLETED.value
    figures = (
        select(
            key.label("gkey"),
            A.status.label("status"),
            func.count().label("n"),
            _sum_of(OVERDUE).label("overdue"),
            (func.min(case((OVERDUE, oldest))) if with_oldest else null()).label("oldest"),
            _sum_of(and_(completed, utc_day(A.closed_at) <= A.original_due_date)).label("on_o"),
            _sum_of(and_(completed, utc_day(A.closed_at) <= A.due_date)).label("on_r"),
        )
        .where(*filter_conditions(shape))
        .group_by(key, A.status)
    )
    if group_by not in REPORT_ATTRIBUTE:
        return figures
    per_report = figures.subquery("per_report")
    c = per_report.c
    attribute = REPORT_ATTRIBUTE[group_by]
    return (
        select(
            attribute,
            c.status,
            func.sum(c.n),
            func.sum(c.overdue),
            func.min(c.oldest),
            func.sum(c.on_o),
            func.sum(c.on_r),
        )
        .select_from(per_report.join(_REPORT, R.id == c.gkey))
        .group_by(attribute, c.status)
    )


def decode_oldest(value: Any) -> tuple[date, int]:
    """(due date, action id) of a group's oldest as `figures_statement` gives it."""
    oldest = int(value)
    return _EPOCH + timedelta(days=oldest >> _ID_BITS), oldest & (2**_ID_BITS - 1)


def figures(
    *,
    db: Reader,
    shape: tuple[str, ...],
    group_by: StatsGroupBy,
    params: dict[str, Any],
    as_of: date,
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """Per group: the counts per status, the overdue figures (groups with none left out) and
    the on-time figures, of the actions as they stood at the end of `as_of` (a past day)."""
    counts: dict[Any, dict[str, int]] = {}
    late: dict[Any, tuple[int, int | None]] = {}
    on_time: dict[Any, tuple[int, int]] = {}
    statement = at_day(figures_statement(shape, group_by), as_of)
    for key, status, n, overdue, oldest, on_original, on_revised in db.execute(statement, params):
        counts.setdefault(key, dict.fromkeys(STATUSES, 0))[status] = int(n)
        before_n, before_oldest = late.get(key, (0, None))
        candidates = [value for value in (before_oldest, oldest) if value is not None]
        late[key] = (before_n + int(overdue), min(candidates, default=None))
        before = on_time.get(key, (0, 0))
        on_time[key] = (before[0] + int(on_original), before[1] + int(on_revised))
    found: dict[Any, Overdue] = {}
    for key, (n, oldest) in late.items():
        if n and oldest is not None:
            found[key] = Overdue(n, *decode_oldest(oldest))
    return counts, found, on_time
