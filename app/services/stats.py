"""Counts of actions per group, by GROUP BY in SQL over the action table's covering indexes.

A fixed number of statements whatever the number of groups: the count per group and status,
read in the order of an index that starts with the group's column (ix_action_*_status); the
overdue count, earliest due date and oldest overdue action per group, from the overdue range of
the same index; and the labels and references to show. Groups by a report's force or pillar
are counted per report, then added up here: a million actions are never joined to their reports.
Groups by `stale` are the two values of the rule (app.services.stale_rule), computed per action:
no index holds them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.sql.util import ClauseAdapter

from app import clock
from app.db import Reader
from app.enums import ActionStatus, Priority, Rag
from app.models import Action, Owner
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import (
    stats_by_report,
    stats_by_report_past,
    stats_delta,
    stats_past,
    stats_tallied,
)
from app.services.action_filters import A, R, filter_conditions, filter_values
from app.services.as_of import at_day, is_past
from app.services.overdue_rule import OVERDUE
from app.services.stats_groups import (
    COUNTED_BY,
    REPORT_ATTRIBUTE,
    STATUSES,
    group_figures,
    utc_day,
)
from app.services.stats_tallied import Overdue

logger = logging.getLogger("afi.stats")
_ACTION = Action.__table__
_OWNER = Owner.__table__
_REPORT = R.id.table

_NO_LABEL = {
    StatsGroupBy.OWNER: "Unassigned",
    StatsGroupBy.PILLAR: "(no pillar)",
    StatsGroupBy.RAG: "(no RAG)",
}
_STATUS_ORDER = {status.value: index for index, status in enumerate(ActionStatus)}
_PRIORITY_ORDER = {priority.value: priority.rank for priority in Priority}
_RAG_ORDER = {rag.value: index for index, rag in enumerate(Rag)}
# Action columns that may be NULL: that group's oldest is looked up apart.
_NULLABLE = (StatsGroupBy.OWNER, StatsGroupBy.RAG)
_IDS_PER_STATEMENT = 500
# Labels of more keys than this are read with the whole table, in one statement.
_WHOLE_TABLE_AFTER = 4 * _IDS_PER_STATEMENT


@lru_cache(maxsize=128)
def _count_statement(shape: tuple[str, ...], group_by: StatsGroupBy) -> Select[Any]:
    key = COUNTED_BY[group_by]
    # Grouped by the status once when it is the key: twice, SQLite would sort the rows again
    # rather than count them in the index's order.
    grouped_by = [key] if key is A.status else [key, A.status]
    counts = (
        select(key, A.status, func.count()).where(*filter_conditions(shape)).group_by(*grouped_by)
    )
    if group_by not in REPORT_ATTRIBUTE:
        return counts
    # Per report, then per force or pillar: only the report-level counts meet the reports.
    per_report = counts.subquery("per_report")
    attribute = REPORT_ATTRIBUTE[group_by]
    report_id, status, n = per_report.c
    return (
        select(attribute, status, func.sum(n))
        .select_from(per_report.join(_REPORT, R.id == report_id))
        .group_by(attribute, status)
    )


def _closed_by(due: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((utc_day(A.closed_at) <= due, 1), else_=0)), 0)


@lru_cache(maxsize=128)
def _on_time_statement(shape: tuple[str, ...], group_by: StatsGroupBy) -> Select[Any]:
    """Per group: the completed actions closed (UTC day) by their original due date, and by
    their due date as revised. Reads the completed range of the group's covering index alone
    (it holds closed_at and original_due_date)."""
    key = COUNTED_BY[group_by]
    completed = A.status == ActionStatus.COMPLETED.value
    figures = (
        select(key, _closed_by(A.original_due_date), _closed_by(A.due_date))
        .where(*filter_conditions(shape), completed)
        .group_by(key)
    )
    if group_by not in REPORT_ATTRIBUTE:
        return figures
    per_report = figures.subquery("on_time_per_report")
    attribute = REPORT_ATTRIBUTE[group_by]
    report_id, original, revised = per_report.c
    return (
        select(attribute, func.sum(original), func.sum(revised))
        .select_from(per_report.join(_REPORT, R.id == report_id))
        .group_by(attribute)
    )


@lru_cache(maxsize=128)
def _overdue_statement(shape: tuple[str, ...], group_by: StatsGroupBy) -> Select[Any]:
    """Per group: how many are overdue, the earliest due date among them, and the lowest id
    due that day (looked up per group in the same index: the oldest overdue action)."""
    key = COUNTED_BY[group_by]
    where = [*filter_conditions(shape), OVERDUE]
    groups = (
        select(key.label("gkey"), func.count().label("n"), func.min(A.due_date).label("due"))
        .where(*where)
        .group_by(key)
        .subquery("overdue_group")
    )
    oldest = _ACTION.alias("oldest")
    on_oldest = ClauseAdapter(oldest)
    # Equality, so that the lookup is an index seek; the unassigned or unassessed group (a NULL
    # key) has its oldest looked up apart (_oldest_unassigned_statement).
    oldest_id = (
        select(func.min(oldest.c.id))
        .where(
            on_oldest.traverse(key) == groups.c.gkey,
            oldest.c.due_date == groups.c.due,
            *(on_oldest.traverse(condition) for condition in where),
        )
        .scalar_subquery()
    )
    figures = select(groups.c.gkey, groups.c.n, groups.c.due, oldest_id)
    if group_by not in REPORT_ATTRIBUTE:
        return figures
    # Per report: a force's or pillar's figures are added up from its reports' (_overdue).
    attribute = REPORT_ATTRIBUTE[group_by]
    return figures.with_only_columns(attribute, groups.c.n, groups.c.due, oldest_id).join_from(
        groups, _REPORT, R.id == groups.c.gkey
    )


@lru_cache(maxsize=64)
def _oldest_unassigned_statement(shape: tuple[str, ...], group_by: StatsGroupBy) -> Select[Any]:
    due = bindparam("oldest_due", type_=Date())
    return select(func.min(A.id)).where(
        *filter_conditions(shape), OVERDUE, COUNTED_BY[group_by].is_(None), A.due_date == due
    )


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _IDS_PER_STATEMENT):
        yield values[start : start + _IDS_PER_STATEMENT]


def _overdue(
    db: Reader,
    shape: tuple[str, ...],
    group_by: StatsGroupBy,
    params: dict[str, Any],
    as_of: date,
) -> dict[Any, Overdue]:
    found: dict[Any, Overdue] = {}
    statement = at_day(_overdue_statement(shape, group_by), as_of)
    for key, n, due, action_id in db.execute(statement, params):
        figures = Overdue(int(n), due, action_id)
        before = found.get(key)  # a force's or pillar's reports come one by one
        if before is not None:
            oldest = min(before, figures, key=lambda o: (o.due_date, o.action_id or 0))
            figures = oldest._replace(overdue=before.overdue + figures.overdue)
        found[key] = figures
    unassigned = found.get(None) if group_by in _NULLABLE else None
    if unassigned is not None:
        action_id = db.scalar(
            at_day(_oldest_unassigned_statement(shape, group_by), as_of),
            {**params, "oldest_due": unassigned.due_date},
        )
        found[None] = unassigned._replace(action_id=action_id)
    return found


def _labels(db: Reader, group_by: StatsGroupBy, keys: Iterable[Any]) -> dict[Any, str]:
    wanted = [key for key in keys if key is not None]
    if group_by is StatsGroupBy.STALE:
        return {key: "stale" if key else "not stale" for key in wanted}
    if group_by is StatsGroupBy.OWNER:
        table, label = _OWNER, _OWNER.c.name
    elif group_by is StatsGroupBy.REPORT:
        table, label = _REPORT, R.title
    else:
        return {key: str(key) for key in wanted}
    if len(wanted) > _WHOLE_TABLE_AFTER:  # most of the table (by report: tens of thousands)
        return dict(db.execute(select(table.c.id, label)).all())
    labels: dict[Any, str] = {}
    for chunk in _chunks(wanted):
        labels.update(db.execute(select(table.c.id, label).where(table.c.id.in_(chunk))).all())
    return labels


def _references(db: Reader, action_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(action_ids):
        found.update(db.execute(select(A.id, A.reference).where(A.id.in_(chunk))).all())
    return found


def answer_json(
    *, db: Reader, filters: ActionFilters, group_by: StatsGroupBy = StatsGroupBy.STATUS
) -> bytes | Iterator[bytes]:
    """`action_stats` as JSON: by report today or on a past day (tens of thousands of groups),
    the chunks of the body, written a part at a time from rows already read
    (app.services.stats_by_report, app.services.stats_by_report_past); else the whole body."""
    as_of = filters.as_of or clock.today()
    if stats_by_report.answers(filters=filters, as_of=as_of, group_by=group_by):
        return stats_by_report.today(db=db, filters=filters).chunks()
    if stats_by_report_past.answers(filters=filters, as_of=as_of, group_by=group_by):
        try:
            return stats_by_report_past.read(db=db, filters=filters, as_of=as_of).chunks()
        except stats_delta.Disagreement as disagreement:
            logger.warning("past-day stats read from the states: %s", disagreement)
    answer = action_stats(db=db, filters=filters, group_by=group_by)
    return orjson.dumps(answer, option=orjson.OPT_UTC_Z)


def action_stats(
    *, db: Reader, filters: ActionFilters, group_by: StatsGroupBy = StatsGroupBy.STATUS
) -> dict[str, Any]:
    """Per group: actions per status, total, overdue, completed share and the oldest overdue
    action; and the same over all groups. Shaped like `StatsOut`. Today's figures without
    filters other than statuses come from the tallies (app.services.stats_tallied); on a past
    `as_of`, of the actions as they stood at the end of that day (app.services.as_of)."""
    as_of = filters.as_of or clock.today()
    if stats_tallied.answers(filters=filters, as_of=as_of, group_by=group_by):
        tallied = stats_tallied.figures(
            db=db, statuses=filters.statuses, group_by=group_by, as_of=as_of
        )
        return answer(
            db=db,
            group_by=group_by,
            as_of=as_of,
            counts=tallied[0],
            overdue=tallied[1],
            on_time=tallied[2],
        )
    shape, params = filter_values(filters=filters, as_of=as_of)
    if is_past(as_of):
        counts, overdue, on_time = _figures_past(db, filters, shape, group_by, params, as_of)
    else:
        counts, overdue, on_time = _figures_now(db, shape, group_by, params, as_of)
    if group_by is StatsGroupBy.STALE:
        counts = {bool(key): per_status for key, per_status in counts.items()}
        overdue = {bool(key): late for key, late in overdue.items()}
        on_time = {bool(key): figures for key, figures in on_time.items()}
    return answer(
        db=db, group_by=group_by, as_of=as_of, counts=counts, overdue=overdue, on_time=on_time
    )


def _figures_past(
    db: Reader,
    filters: ActionFilters,
    shape: tuple[str, ...],
    group_by: StatsGroupBy,
    params: dict[str, Any],
    as_of: date,
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """A past day's figures: today's corrected by the states changed since where that is exact
    (app.services.stats_delta), else every state that held on the day (app.services.stats_past)."""
    if stats_delta.answers(filters=filters, as_of=as_of, group_by=group_by):
        try:
            return stats_delta.figures(db=db, filters=filters, group_by=group_by, as_of=as_of)
        except stats_delta.Disagreement as disagreement:
            logger.warning("past-day stats read from the states: %s", disagreement)
    return stats_past.figures(db=db, shape=shape, group_by=group_by, params=params, as_of=as_of)


def _figures_now(
    db: Reader, shape: tuple[str, ...], group_by: StatsGroupBy, params: dict[str, Any], as_of: date
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """Today's figures from the action table, a statement each, through its per-group indexes."""
    counts: dict[Any, dict[str, int]] = {}
    for key, status, n in db.execute(at_day(_count_statement(shape, group_by), as_of), params):
        counts.setdefault(key, dict.fromkeys(STATUSES, 0))[status] = int(n)
    overdue = _overdue(db, shape, group_by, params, as_of)
    on_time = {
        key: (int(original), int(revised))
        for key, original, revised in db.execute(
            at_day(_on_time_statement(shape, group_by), as_of), params
        )
    }
    return counts, overdue, on_time


def answer(
    *,
    db: Reader,
    group_by: StatsGroupBy,
    as_of: date,
    counts: dict[Any, dict[str, int]],
    overdue: dict[Any, Overdue],
    on_time: dict[Any, tuple[int, int]],
) -> dict[str, Any]:
    """The stats answer from per group: the counts per status, the overdue figures (groups
    with none left out) and the on-time figures."""
    references = _references(
        db,
        sorted(
            o.action_id for o in overdue.values() if o.action_id is not None and o.reference is None
        ),
    )
    labels = _labels(db, group_by, counts)
    no_label = _NO_LABEL.get(group_by, "(none)")
    groups = []
    for key, per_status in counts.items():
        late = overdue.get(key)
        oldest = None
        if late is not None and late.action_id is not None:
            oldest = {
                "action_id": late.action_id,
                "reference": late.reference or references[late.action_id],
                "due_date": late.due_date,
                "days_overdue": (as_of - late.due_date).days,
            }
        label = labels.get(key)
        groups.append(
            {
                "key": key,
                "label": label if label is not None else no_label,
                **group_figures(per_status, late.overdue if late else 0, oldest, on_time.get(key)),
            }
        )
    if group_by in _ORDERED_KEYS:
        groups.sort(key=lambda group: _sort_key(group_by, group))
    else:
        groups.sort(
            key=lambda group: (group["key"] is None, group["label"].casefold(), str(group["key"]))
        )
    return {"group_by": group_by.value, "as_of": as_of, "groups": groups, "totals": _totals(groups)}


# Groups sorted by their key's own order; the others by label.
_ORDERED_KEYS = frozenset(
    {StatsGroupBy.STATUS, StatsGroupBy.PRIORITY, StatsGroupBy.RAG, StatsGroupBy.STALE}
)


def _sort_key(group_by: StatsGroupBy, group: dict[str, Any]) -> tuple[Any, ...]:
    key = group["key"]
    if group_by is StatsGroupBy.STATUS:
        return (_STATUS_ORDER.get(key, len(_STATUS_ORDER)), str(key))
    if group_by is StatsGroupBy.PRIORITY:
        return (_PRIORITY_ORDER.get(key, len(_PRIORITY_ORDER)), str(key))
    if group_by is StatsGroupBy.RAG:
        return (_RAG_ORDER.get(key, len(_RAG_ORDER)), str(key))
    return (not key,)  # stale first


def _totals(groups: list[dict[str, Any]]) -> dict[str, Any]:
    # One pass over the groups (by report, tens of thousands of them).
    counts = dict.fromkeys(STATUSES, 0)
    overdue = on_original = on_revised = 0
    candidates = []
    for group in groups:
        for status, n in group["counts"].items():
            counts[status] += n
        overdue += group["overdue"]
        on_original += group["completed_on_time_original"]
        on_revised += group["completed_on_time_revised"]
        if group["oldest_overdue"]:
            candidates.append(group["oldest_overdue"])
    oldest = min(candidates, key=lambda item: (item["due_date"], item["action_id"]), default=None)
    return group_figures(counts, overdue, oldest, (on_original, on_revised))
