"""Stats and the overdue summary's counts for today, from the tallies (app.services.tallies)
rather than from every action.

Per group the tallies give the actions per status, the completed ones closed on time, and per
active status the dated ones held to their due date. Overdue on a day is those less the ones
not yet due: a range of `ix_action_status_due_date` (status, due date from the day on), which
holds every group's column. The oldest overdue action of each group is found by walking the
overdue actions in due-date order from the earliest, merging the active statuses' ranges of the
same index, until every group with any has been met; of each report (tens of thousands of
groups, whose oldest a walk would meet only near its end), by one seek per report
(app.services.report_oldest).

By stale, the two groups come from the status tallies and the active actions that are not
stale: a short range of `ix_action_active_progress` (those with progress in the last
AFI_STALE_AFTER_DAYS), whose counts, overdue and oldest overdue are read whole; the stale ones
are the tallies' active actions less those, and their oldest overdue action the first stale one
of the walk (old overdue actions are nearly all stale, so it ends soon).

Only today's figures (as_of absent or today: the tallies are the present state) and filters the
tallies hold (statuses) are answered here; any other request counts the actions themselves
(app.services.stats, app.services.overdue).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from contextlib import closing
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.db import Reader
from app.enums import ActionStatus
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import report_oldest, tallies
from app.services.action_filters import A, F, R, filter_values
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN, active_as_indexed
from app.services.stale_rule import stale_before
from app.services.stats_groups import STATUSES

_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_COMPLETED = ActionStatus.COMPLETED.value
# The groups answered here, by their dimension in the tallies (stale: from the status tallies).
_DIMENSION = {
    StatsGroupBy.STATUS: "status",
    StatsGroupBy.OWNER: "owner",
    StatsGroupBy.PRIORITY: "priority",
    StatsGroupBy.RAG: "rag",
    StatsGroupBy.REPORT: "report",
    StatsGroupBy.FORCE: "force",
    StatsGroupBy.PILLAR: "pillar",
}
# The moment the stale rule reads, as `ix_action_active_progress` holds it.
_progress_at = func.coalesce(A.last_progress_at, A.created_at)
# The action column a group is read from; force and pillar are the report's.
_KEY: dict[StatsGroupBy, ColumnElement[Any]] = {
    StatsGroupBy.STATUS: A.status,
    StatsGroupBy.OWNER: A.owner_id,
    StatsGroupBy.PRIORITY: A.priority,
    StatsGroupBy.RAG: A.rag,
    StatsGroupBy.REPORT: A.report_id,
    StatsGroupBy.FORCE: R.force,
    StatsGroupBy.PILLAR: R.pillar,
    # With created_at (_EXTRA): the moment the stale rule reads. Not as the expression: that
    # would lead PostgreSQL to `ix_action_active_progress`, out of due-date order.
    StatsGroupBy.STALE: A.last_progress_at,
}
_EXTRA: dict[StatsGroupBy, tuple[ColumnElement[Any], ...]] = {StatsGroupBy.STALE: (A.created_at,)}
_ON_REPORT = (StatsGroupBy.FORCE, StatsGroupBy.PILLAR)
# Rows fetched at a time while walking the overdue actions.
_WALK_BATCH = 500


class Overdue(NamedTuple):
    overdue: int
    due_date: date
    action_id: int | None
    reference: str | None = None  # when read with it; else looked up (app.services.stats)


def answers(*, filters: ActionFilters, as_of: date, group_by: StatsGroupBy | None = None) -> bool:
    """Whether these filters and day are answered from the tallies."""
    if as_of != clock.today():
        return False
    if group_by is not None and group_by not in _DIMENSION and group_by is not StatsGroupBy.STALE:
        return False
    shape, _ = filter_values(filters=filters, as_of=as_of)
    return set(shape) <= {"statuses"}


def withdrawn_findings(db: Reader) -> frozenset[int]:
    return frozenset(db.scalars(select(F.id).where(F.withdrawn_at.is_not(None))))


def not_yet_due(
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
        if group_by is StatsGroupBy.REPORT:  # as above: the range sorted, not the index read
            key = (A.report_id + 0).label("report_id")
        statement = select(key, func.count()).where(*where).group_by(key)
    return {key: int(n) for key, n in db.execute(statement)}


def overdue_rows(
    db: Reader, group_by: StatsGroupBy, status: str, as_of: date
) -> Generator[Any, None, None]:
    """(due date, id, group, finding, any _EXTRA) of the actions of an active status due
    before `as_of`, earliest due first, read a batch at a time."""
    statement = select(
        A.due_date, A.id, _KEY[group_by], A.finding_id, *_EXTRA.get(group_by, ())
    ).where(A.status == status, A.due_date < as_of)
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


def walk_overdue(
    db: Reader,
    group_by: StatsGroupBy,
    statuses: tuple[str, ...],
    as_of: date,
    withdrawn: frozenset[int],
    skipped: frozenset[int] = frozenset(),
) -> Generator[Any, None, None]:
    """The rows of `overdue_rows` of every status in `statuses`, merged earliest due first,
    less those of a withdrawn finding or a `skipped` action. Close it (contextlib.closing)
    when done early: that closes the statements' cursors."""
    streams = [overdue_rows(db, group_by, status, as_of) for status in statuses]
    try:
        for row in heapq.merge(*streams, key=lambda row: row[0]):
            if row[3] not in withdrawn and row[1] not in skipped:
                yield row
    finally:
        for stream in streams:
            stream.close()


def oldest_overdue(
    db: Reader,
    group_by: StatsGroupBy,
    statuses: tuple[str, ...],
    as_of: date,
    withdrawn: frozenset[int],
    wanted: set[Any],
    classify: Callable[[Any], Any] | None = None,
    skipped: frozenset[int] = frozenset(),
) -> dict[Any, tuple[date, int]]:
    """Per wanted group, the earliest due date of its overdue actions and the lowest id due
    that day: the overdue actions walked from the earliest due date until each group's first
    day has been read whole. `classify` makes a row's group of the row (else its group
    column); actions of `skipped` ids are passed over (a past day's: app.services.stats_delta)."""
    found: dict[Any, tuple[date, int]] = {}
    last_day: date | None = None
    with closing(walk_overdue(db, group_by, statuses, as_of, withdrawn, skipped)) as rows:
        for row in rows:
            due, action_id, group = row[:3]
            if last_day is not None and due > last_day:
                break
            if classify is not None:
                group = classify(row)
            if group not in wanted:
                continue
            before = found.get(group)
            if before is None:
                found[group] = (due, action_id)
                if len(found) == len(wanted):
                    last_day = due  # the rest of this day may hold a lower id
            elif before[0] == due and action_id < before[1]:
                found[group] = (due, action_id)
    return found


def figures(
    *, db: Reader, statuses: tuple[str, ...], group_by: StatsGroupBy, as_of: date
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """Per group: the counts per status, the overdue figures (groups with none left out) and
    the on-time figures, of the actions of `statuses` (every status when empty), today."""
    wanted_statuses = statuses or STATUSES
    active = tuple(status for status in _ACTIVE if status in wanted_statuses)
    if group_by is StatsGroupBy.STALE:
        return _stale_figures(db, wanted_statuses, active, as_of)
    tallied = tallies.read(db, _DIMENSION[group_by])
    pending = not_yet_due(db, group_by, active, as_of) if active else {}
    counts: dict[Any, dict[str, int]] = {}
    late: dict[Any, int] = {}
    on_time: dict[Any, tuple[int, int]] = {}
    every_status = set(wanted_statuses) >= set(STATUSES)
    for key, group in tallied.items():
        if every_status:  # the tally's own (by report, tens of thousands of groups)
            per_status = group.counts
        else:
            per_status = {
                status: group.counts[status] if status in wanted_statuses else 0
                for status in STATUSES
            }
            if not any(per_status.values()):
                continue
        counts[key] = per_status
        overdue = sum(group.dated[status] for status in active) - pending.get(key, 0)
        if overdue:
            late[key] = overdue
        if _COMPLETED in wanted_statuses:
            on_time[key] = (group.on_time_original, group.on_time_revised)
    if not late:
        return counts, {}, on_time
    if group_by is StatsGroupBy.REPORT:
        seeks = report_oldest.oldest_per_report(db=db, statuses=active, as_of=as_of)
        return counts, {key: Overdue(n, *seeks[key]) for key, n in late.items()}, on_time
    oldest = oldest_overdue(db, group_by, active, as_of, withdrawn_findings(db), set(late))
    overdue_figures = {key: Overdue(n, oldest[key][0], oldest[key][1]) for key, n in late.items()}
    return counts, overdue_figures, on_time


class _few(FunctionElement[Any]):
    """A condition few rows meet. SQLite's planner is told so (`likelihood`): it takes a range
    of an expression index to hold a quarter of the rows, and would read a larger index for
    its order instead. PostgreSQL has the index's statistics."""

    # Untyped: typed Boolean, SQLite would be sent `likelihood(...) = 1`, which no index serves.
    name = "few"
    inherit_cache = True


@compiles(_few)
def _few_default(element: _few, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_few, "sqlite")
def _few_sqlite(element: _few, compiler: SQLCompiler, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.05)"


def _not_stale(
    db: Reader, active: tuple[str, ...], as_of: date
) -> tuple[dict[str, tuple[int, int]], tuple[date, int] | None]:
    """Of the active actions of `active` statuses that are not stale on `as_of` (a range of
    `ix_action_active_progress`): per status how many, and how many overdue; and the oldest
    overdue one (due date, id), None when none is."""
    before = stale_before(as_of)
    where = [
        active_as_indexed(A.status),
        _few(_progress_at >= before),
        *([A.status.in_(active)] if active != _ACTIVE else []),
    ]
    late = and_(A.due_date < as_of, A.finding_id.not_in(WITHDRAWN))
    # Grouped by `status || ''`, not the column: SQLite would read the whole of the status
    # index for its order rather than sort the short range.
    status = A.status.concat(literal_column("''")).label("status")
    per_status = select(
        status, func.count(), func.sum(case((late, 1), else_=0)), func.min(case((late, A.due_date)))
    )
    figures: dict[str, tuple[int, int]] = {}
    first_day: date | None = None
    for key, n, overdue, earliest in db.execute(per_status.where(*where).group_by(status)):
        figures[key] = (int(n), int(overdue))
        if earliest is not None and (first_day is None or earliest < first_day):
            first_day = earliest
    if first_day is None:
        return figures, None
    # The lowest id of that day's: a day's actions are few, however they are read.
    first = select(func.min(A.id)).where(*where, late, A.due_date == first_day)
    return figures, (first_day, db.execute(first).scalar_one())


def _stale_figures(
    db: Reader, wanted_statuses: tuple[str, ...], active: tuple[str, ...], as_of: date
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """`figures` by stale (True: stale, False: not): an inactive action is never stale."""
    tallied = tallies.read(db, "status")
    pending = not_yet_due(db, StatsGroupBy.STATUS, active, as_of) if active else {}
    recent, recent_oldest = _not_stale(db, active, as_of) if active else ({}, None)
    stale, fresh = dict.fromkeys(STATUSES, 0), dict.fromkeys(STATUSES, 0)
    stale_late = fresh_late = 0
    for status, group in tallied.items():
        if status not in wanted_statuses:
            continue
        if status not in active:
            fresh[status] = group.counts[status]
            continue
        n_recent, late_recent = recent.get(status, (0, 0))
        fresh[status], stale[status] = n_recent, group.counts[status] - n_recent
        fresh_late += late_recent
        stale_late += group.dated[status] - pending.get(status, 0) - late_recent
    counts = {key: n for key, n in ((True, stale), (False, fresh)) if any(n.values())}
    overdue: dict[Any, Overdue] = {}
    if fresh_late:
        assert recent_oldest is not None  # counted in the same snapshot
        overdue[False] = Overdue(fresh_late, *recent_oldest)
    if stale_late:
        before = stale_before(as_of)
        walked = oldest_overdue(
            db,
            StatsGroupBy.STALE,
            active,
            as_of,
            withdrawn_findings(db),
            {True},
            lambda row: (row.last_progress_at or row.created_at) < before,
        )
        overdue[True] = Overdue(stale_late, *walked[True])
    completed = tallied.get(_COMPLETED)
    on_time = {}
    if completed is not None and _COMPLETED in wanted_statuses:
        on_time[False] = (completed.on_time_original, completed.on_time_revised)
    return counts, overdue, on_time


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
    pending = not_yet_due(db, StatsGroupBy.PRIORITY, statuses, as_of)
    checked = sum(group.counts[status] for group in groups.values() for status in statuses)
    overdue = {
        priority: sum(group.dated[status] for status in statuses) - pending.get(priority, 0)
        for priority, group in sorted(groups.items())
    }
    due_soon = None
    if due_within is not None:
        horizon = as_of + timedelta(days=due_within)
        due_soon = db.scalar(
            select(func.count()).where(A.status.in_(statuses), A.due_date.between(as_of, horizon))
        )
    return SummaryCounts(checked, {priority: n for priority, n in overdue.items() if n}, due_soon)
