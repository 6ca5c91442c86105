"""Stats and the overdue summary's counts for today, from the tallies (app.services.tallies)
rather than from every action.

Per group the tallies give the actions per status, the completed ones closed on time, and per
active status the dated ones held to their due date. Overdue on a day is those less the ones
not yet due: a range of `ix_action_status_due_date` (status, due date from the day on), which
holds every group's column. The oldest overdue action of each group is found by walking the
overdue actions in due-date order from the earliest, merging the active statuses' ranges of the
same index, until every group with any has been met.

Only today's figures (as_of absent or today: the tallies are the present state) and filters the
tallies hold (statuses) are answered here; any other request counts the actions themselves
(app.services.stats, app.services.overdue).
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, select

from app import clock
from app.db import Reader
from app.enums import ActionStatus
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import tallies
from app.services.action_filters import A, F, R, filter_values
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN

_STATUSES = tuple(status.value for status in ActionStatus)
_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_COMPLETED = ActionStatus.COMPLETED.value
# The groups answered here, by their dimension in the tallies. Not by report: tens of
# thousands of groups, whose oldest overdue actions a walk would take most of the overdue
# actions to meet. Not by stale: the rule depends on the day, and no index holds the active
# actions by their last progress (see bench/README).
_DIMENSION = {
    StatsGroupBy.STATUS: "status",
    StatsGroupBy.OWNER: "owner",
    StatsGroupBy.PRIORITY: "priority",
    StatsGroupBy.RAG: "rag",
    StatsGroupBy.FORCE: "force",
    StatsGroupBy.PILLAR: "pillar",
}
# The action column a group is read from; force and pillar are the report's.
_KEY: dict[StatsGroupBy, ColumnElement[Any]] = {
    StatsGroupBy.STATUS: A.status,
    StatsGroupBy.OWNER: A.owner_id,
    StatsGroupBy.PRIORITY: A.priority,
    StatsGroupBy.RAG: A.rag,
    StatsGroupBy.REPORT: A.report_id,
    StatsGroupBy.FORCE: R.force,
    StatsGroupBy.PILLAR: R.pillar,
}
_ON_REPORT = (StatsGroupBy.FORCE, StatsGroupBy.PILLAR)
# Rows fetched at a time while walking the overdue actions.
_WALK_BATCH = 500


class Overdue(NamedTuple):
    overdue: int
    due_date: date
    action_id: int | None


def answers(*, filters: ActionFilters, as_of: date, group_by: StatsGroupBy | None = None) -> bool:
    """Whether these filters and day are answered from the tallies."""
    if as_of != clock.today():
        return False
    if group_by is not None and group_by not in _DIMENSION:
        return False
    shape, _ = filter_values(filters=filters, as_of=as_of)
    return set(shape) <= {"statuses"}


def _withdrawn(db: Reader) -> frozenset[int]:
    return frozenset(db.scalars(select(F.id).where(F.withdrawn_at.is_not(None))))


def _not_yet_due(
    db: Reader,
    group_by: StatsGroupBy,
    statuses: tuple[str, ...],
    as_of: date,
) -> dict[Any, int]:
    """Per group, the active actions held to a due date that is `as_of` or later."""
    where = [A.status.in_(statuses), A.due_date >= as_of, A.finding_id.not_in(WITHDRAWN)]
    if group_by in _ON_REPORT:
        # Grouped by `report_id + 0`, not the column: SQLite would read the whole of the
        # report's index for its order rather than sort the short range.
        report_id = (A.report_id + 0).label("report_id")
        per_report = (
            select(report_id, func.count().label("n")).where(*where).group_by(report_id).subquery()
        )
        key = _KEY[group_by]
        statement: Select[Any] = (
            select(key, func.sum(per_report.c.n))
            .join_from(per_report, R.id.table, R.id == per_report.c.report_id)
            .group_by(key)
        )
    else:
        key = _KEY[group_by]
        statement = select(key, func.count()).where(*where).group_by(key)
    return {key: int(n) for key, n in db.execute(statement)}


def _overdue_rows(
    db: Reader, group_by: StatsGroupBy, status: str, as_of: date
) -> Generator[Any, None, None]:
    """(due date, id, group, finding) of the actions of an active status due before `as_of`,
    earliest due first, read a batch at a time."""
    statement = select(A.due_date, A.id, _KEY[group_by], A.finding_id).where(
        A.status == status, A.due_date < as_of
    )
    if group_by in _ON_REPORT:
        statement = statement.join_from(A.id.table, R.id.table, R.id == A.report_id)
    result = db.execute(
        statement.order_by(A.due_date).execution_options(
            stream_results=True, yield_per=_WALK_BATCH
        ),
    )
    try:
        yield from result
    finally:
        result.close()


def _oldest(
    db: Reader,
    group_by: StatsGroupBy,
    statuses: tuple[str, ...],
    as_of: date,
    withdrawn: frozenset[int],
    wanted: set[Any],
) -> dict[Any, tuple[date, int]]:
    """Per wanted group, the earliest due date of its overdue actions and the lowest id due
    that day: the overdue actions walked from the earliest due date until each group's first
    day has been read whole."""
    streams = [_overdue_rows(db, group_by, status, as_of) for status in statuses]
    found: dict[Any, tuple[date, int]] = {}
    last_day: date | None = None
    try:
        for due, action_id, group, finding_id in heapq.merge(*streams, key=lambda row: row[0]):
            if last_day is not None and due > last_day:
                break
            if finding_id in withdrawn:
                continue
            if group not in wanted:
                continue
            before = found.get(group)
            if before is None:
                found[group] = (due, action_id)
                if len(found) == len(wanted):
                    last_day = due  # the rest of this day may hold a lower id
            elif before[0] == due and action_id < before[1]:
                found[group] = (due, action_id)
    finally:
        for stream in streams:
            stream.close()
    return found


def figures(
    *, db: Reader, statuses: tuple[str, ...], group_by: StatsGroupBy, as_of: date
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """Per group: the counts per status, the overdue figures (groups with none left out) and
    the on-time figures, of the actions of `statuses` (every status when empty), today."""
    wanted_statuses = statuses or _STATUSES
    active = tuple(status for status in _ACTIVE if status in wanted_statuses)
    withdrawn = _withdrawn(db)
    tallied = tallies.read(db, _DIMENSION[group_by])
    not_yet_due = _not_yet_due(db, group_by, active, as_of) if active else {}
    counts: dict[Any, dict[str, int]] = {}
    late: dict[Any, int] = {}
    on_time: dict[Any, tuple[int, int]] = {}
    for key, group in tallied.items():
        per_status = {
            status: group.counts[status] if status in wanted_statuses else 0 for status in _STATUSES
        }
        if not any(per_status.values()):
            continue
        counts[key] = per_status
        overdue = sum(group.dated[status] for status in active) - not_yet_due.get(key, 0)
        if overdue:
            late[key] = overdue
        if _COMPLETED in wanted_statuses:
            on_time[key] = (group.on_time_original, group.on_time_revised)
    oldest = _oldest(db, group_by, active, as_of, withdrawn, set(late)) if late else {}
    overdue_figures = {key: Overdue(n, oldest[key][0], oldest[key][1]) for key, n in late.items()}
    return counts, overdue_figures, on_time


class SummaryCounts(NamedTuple):
    checked: int
    overdue_by_priority: dict[str, int]
    due_soon: int | None


def summary_counts(
    *, db: Reader, statuses: tuple[str, ...], as_of: date, due_within: int | None
) -> SummaryCounts:
    """The overdue summary's counts (app.services.overdue) for actions of active `statuses`,
    today: checked and overdue per priority from the tallies; due soon, a short range of
    `ix_action_status_due_date`."""
    groups = tallies.read(db, "priority")
    not_yet_due = _not_yet_due(db, StatsGroupBy.PRIORITY, statuses, as_of)
    checked = sum(group.counts[status] for group in groups.values() for status in statuses)
    overdue = {
        priority: sum(group.dated[status] for status in statuses) - not_yet_due.get(priority, 0)
        for priority, group in sorted(groups.items())
    }
    due_soon = None
    if due_within is not None:
        horizon = as_of + timedelta(days=due_within)
        due_soon = db.scalar(
            select(func.count()).where(A.status.in_(statuses), A.due_date.between(as_of, horizon))
        )
    return SummaryCounts(checked, {priority: n for priority, n in overdue.items() if n}, due_soon)
