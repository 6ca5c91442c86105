"""Counts of actions per group, computed by GROUP BY in SQL (one statement, no rows loaded)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, and_, case, func, select

from app import clock
from app.db import Reader
from app.enums import ActionStatus, Priority
from app.models import Owner
from app.schemas.queries import ActionFilters, StatsGroupBy
from app.services.actions_query import FILTERABLE, A, R, filter_conditions, filter_values
from app.services.overdue_rule import OVERDUE

_OWNER = Owner.__table__

_NO_LABEL = {StatsGroupBy.OWNER: "Unassigned", StatsGroupBy.PILLAR: "(no pillar)"}
_STATUS_ORDER = {status.value: index for index, status in enumerate(ActionStatus)}
_PRIORITY_ORDER = {priority.value: priority.rank for priority in Priority}


def _group_columns(
    group_by: StatsGroupBy,
) -> tuple[SQLColumnExpression[Any], SQLColumnExpression[Any]]:
    """The key a group is made by, and its readable label."""
    if group_by is StatsGroupBy.OWNER:
        return A.owner_id, _OWNER.c.name
    if group_by is StatsGroupBy.FORCE:
        return R.force, R.force
    if group_by is StatsGroupBy.REPORT:
        return R.id, R.title
    if group_by is StatsGroupBy.PILLAR:
        return R.pillar, R.pillar
    if group_by is StatsGroupBy.PRIORITY:
        return A.priority, A.priority
    return A.status, A.status


def _figures(
    counts: dict[str, int], total: int, overdue: int, oldest: dict[str, Any] | None
) -> dict[str, Any]:
    completed = counts[ActionStatus.COMPLETED.value]
    return {
        "counts": counts,
        "total": total,
        "overdue": overdue,
        "completed_share": completed / total if total else 0.0,
        "oldest_overdue": oldest,
    }


def _sort_key(group_by: StatsGroupBy, group: dict[str, Any]) -> tuple[Any, ...]:
    key = group["key"]
    if group_by is StatsGroupBy.STATUS:
        return (_STATUS_ORDER.get(key, len(_STATUS_ORDER)), str(key))
    if group_by is StatsGroupBy.PRIORITY:
        return (_PRIORITY_ORDER.get(key, len(_PRIORITY_ORDER)), str(key))
    return (key is None, group["label"].casefold(), str(key))


_STATUSES = [status.value for status in ActionStatus]


@lru_cache(maxsize=128)
def _statement(shape: tuple[str, ...], group_by: StatsGroupBy) -> Select[Any]:
    """Built once per filter shape and grouping; run with the filters' values."""
    key, label = _group_columns(group_by)
    source = FILTERABLE
    if group_by is StatsGroupBy.OWNER:
        source = source.outerjoin(_OWNER, A.owner_id == _OWNER.c.id)
    filtered = (
        select(
            A.id,
            key.label("gkey"),
            label.label("glabel"),
            A.reference,
            A.status,
            A.due_date,
            case((OVERDUE, 1), else_=0).label("overdue"),
        )
        .select_from(source)
        .where(*filter_conditions(shape))
        .cte("filtered")
    )
    per_status = [
        func.sum(case((filtered.c.status == status, 1), else_=0)).label(f"n_{status}")
        for status in _STATUSES
    ]
    groups = (
        select(
            filtered.c.gkey,
            filtered.c.glabel,
            func.count().label("total"),
            func.sum(filtered.c.overdue).label("overdue"),
            *per_status,
        )
        .group_by(filtered.c.gkey, filtered.c.glabel)
        .subquery("groups")
    )
    ranked = (
        select(
            filtered.c.gkey,
            filtered.c.id,
            filtered.c.reference,
            filtered.c.due_date,
            func.row_number()
            .over(partition_by=filtered.c.gkey, order_by=(filtered.c.due_date, filtered.c.id))
            .label("rank"),
        )
        .where(filtered.c.overdue == 1)
        .subquery("ranked")
    )
    return select(
        *groups.c,
        ranked.c.id.label("oldest_id"),
        ranked.c.reference.label("oldest_reference"),
        ranked.c.due_date.label("oldest_due_date"),
    ).outerjoin(ranked, and_(ranked.c.gkey.is_not_distinct_from(groups.c.gkey), ranked.c.rank == 1))


def action_stats(
    *, db: Reader, filters: ActionFilters, group_by: StatsGroupBy = StatsGroupBy.STATUS
) -> dict[str, Any]:
    """Per group: actions per status, total, overdue, completed share and the oldest overdue
    action; and the same over all groups. Shaped like `StatsOut`."""
    as_of = filters.as_of or clock.today()
    shape, params = filter_values(filters=filters, as_of=as_of)
    result: list[dict[str, Any]] = []
    for row in db.execute(_statement(shape, group_by), params).mappings():
        oldest = _oldest(row["oldest_id"], row["oldest_reference"], row["oldest_due_date"], as_of)
        counts = {status: int(row[f"n_{status}"] or 0) for status in _STATUSES}
        group_key = row["gkey"]
        result.append(
            {
                "key": group_key,
                "label": str(row["glabel"]) if row["glabel"] is not None else _none_label(group_by),
                **_figures(counts, int(row["total"]), int(row["overdue"] or 0), oldest),
            }
        )
    result.sort(key=lambda group: _sort_key(group_by, group))
    return {
        "group_by": group_by.value,
        "as_of": as_of,
        "groups": result,
        "totals": _totals(result),
    }


def _none_label(group_by: StatsGroupBy) -> str:
    return _NO_LABEL.get(group_by, "(none)")


def _oldest(
    action_id: int | None, reference: str | None, due_date: date | None, as_of: date
) -> dict[str, Any] | None:
    if action_id is None or reference is None or due_date is None:
        return None
    return {
        "action_id": action_id,
        "reference": reference,
        "due_date": due_date,
        "days_overdue": (as_of - due_date).days,
    }


def _totals(groups: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {status: sum(group["counts"][status] for group in groups) for status in _STATUSES}
    candidates = [group["oldest_overdue"] for group in groups if group["oldest_overdue"]]
    oldest = min(candidates, key=lambda item: (item["due_date"], item["action_id"]), default=None)
    return _figures(
        counts,
        sum(group["total"] for group in groups),
        sum(group["overdue"] for group in groups),
        oldest,
    )
