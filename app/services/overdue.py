"""Overdue checks: which active actions are past due (or due soon) on a given day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.db import Reader
from app.models import Action
from app.schemas.filters import ActionFilters, ActionSort
from app.services import action_reads, overdue_delta, stats_delta, stats_tallied
from app.services.action_filters import filter_conditions, filter_values
from app.services.as_of import at_day
from app.services.overdue_rule import ACTIVE_STATUSES, OVERDUE, held_to_due_date


@dataclass
class OverdueCheck:
    """Every checked action sorted into overdue, due soon, or fine."""

    as_of: date
    due_within: int | None
    checked: list[dict[str, Any]] = field(default_factory=list)
    overdue: list[dict[str, Any]] = field(default_factory=list)
    due_soon: list[dict[str, Any]] = field(default_factory=list)


def active_filters(filters: ActionFilters) -> ActionFilters:
    """Only open, in-progress and blocked actions can be overdue, so only they are checked."""
    statuses = tuple(s for s in filters.statuses if s in ACTIVE_STATUSES) or ACTIVE_STATUSES
    return replace(filters, statuses=statuses)


def classify(
    *, items: Iterable[dict[str, Any]], as_of: date, due_within: int | None
) -> OverdueCheck:
    """Sort actions (as the API shows them, judged on `as_of`) into overdue, due soon and fine."""
    result = OverdueCheck(as_of=as_of, due_within=due_within)
    horizon = as_of + timedelta(days=due_within) if due_within is not None else None
    for item in items:
        result.checked.append(item)
        if item["days_overdue"] > 0:
            result.overdue.append(item)
            continue
        due = item["due_date"]
        if (
            horizon is not None
            and due is not None
            and as_of <= due <= horizon
            and held_to_due_date(
                status=item["status"], finding_withdrawn=item["finding_withdrawn_at"] is not None
            )
        ):
            result.due_soon.append(item)
    result.overdue.sort(key=lambda item: (item["due_date"], item["reference"]))
    result.due_soon.sort(key=lambda item: (item["due_date"], item["reference"]))
    return result


def check(
    *, session: Session, filters: ActionFilters, as_of: date, due_within: int | None
) -> OverdueCheck:
    # No format of `afi overdue` (app.cli.overdue_formats) shows the progress note or the
    # revision count: on a past day, they are not rebuilt from the history.
    items = action_reads.iter_actions(
        session=session,
        filters=active_filters(filters),
        sort=ActionSort.DUE_DATE,
        as_of=as_of,
        past_progress=False,
    )
    return classify(items=items, as_of=as_of, due_within=due_within)


def summary_json(
    *, db: Reader, filters: ActionFilters, as_of: date | None, due_within: int | None
) -> bytes:
    """`summary` as the API answers it (timestamps in UTC, with a Z); `as_of` None is today."""
    found = summary(db=db, filters=filters, as_of=as_of or clock.today(), due_within=due_within)
    return orjson.dumps(found, option=orjson.OPT_UTC_Z)


def summary(
    *,
    db: Reader,
    filters: ActionFilters,
    as_of: date,
    due_within: int | None,
    oldest: int = 10,
) -> dict[str, Any]:
    """Counts and the longest-overdue items, for dashboards and CI: one page, and the counts
    from the tallies for today (app.services.stats_tallied), or else one pass over the active
    actions (per priority, in the order of ix_action_priority_status)."""
    filters = active_filters(filters)
    tallied = None
    if stats_delta.answers(filters=filters, as_of=as_of, group_by=None):
        # A past day: today's figures less the states begun since, plus those ended since.
        items = overdue_delta.oldest_page(db=db, filters=filters, as_of=as_of, limit=oldest)
        tallied = stats_delta.summary_counts(
            db=db, filters=filters, as_of=as_of, due_within=due_within
        )
    else:
        items, _ = action_reads.fetch_batch(
            db=db,
            filters=replace(filters, overdue=True),
            sort=ActionSort.DAYS_OVERDUE_DESC,
            as_of=as_of,
            after=None,
            limit=oldest,
        )
    if stats_tallied.answers(filters=filters, as_of=as_of):
        tallied = stats_tallied.summary_counts(
            db=db, statuses=filters.statuses, as_of=as_of, due_within=due_within
        )
    if tallied is not None:
        return {
            "as_of": as_of,
            "due_within": due_within,
            "checked": tallied.checked,
            "overdue": sum(tallied.overdue_by_priority.values()),
            "due_soon": tallied.due_soon,
            "overdue_by_priority": tallied.overdue_by_priority,
            "oldest": items,
        }
    shape, params = filter_values(filters=filters, as_of=as_of)
    horizon = as_of + timedelta(days=due_within or 0)
    due_soon = Action.due_date.between(as_of, horizon) if due_within is not None else None
    columns = [
        Action.priority,
        func.count().label("checked"),
        func.count().filter(OVERDUE).label("overdue"),
        func.count().filter(due_soon).label("due_soon") if due_soon is not None else None,
    ]
    counts = (
        select(*(c for c in columns if c is not None))
        .where(*filter_conditions(shape))
        .group_by(Action.priority)
    )
    per_priority = db.execute(at_day(counts, as_of), params).all()
    by_priority = {row.priority: row.overdue for row in per_priority if row.overdue}
    return {
        "as_of": as_of,
        "due_within": due_within,
        "checked": sum(row.checked for row in per_priority),
        "overdue": sum(row.overdue for row in per_priority),
        "due_soon": sum(row.due_soon for row in per_priority) if due_soon is not None else None,
        "overdue_by_priority": by_priority,
        "oldest": items,
    }
