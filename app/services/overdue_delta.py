"""The overdue summary's longest-overdue actions on a past day, without reading every state
that held (app.services.stats_delta for the principle).

The actions overdue at the end of the day are those overdue today by a current state begun
before it, and the ended states that held then and were overdue. The first `limit` of them
by due date (earliest first, highest id first the same day, as the list by `-days_overdue`
orders them) are among: today's overdue actions walked in due-date order over
ix_action_status_due_date, passing over those whose current state began after the day, read
until `limit` are met and their last due date whole; and the first `limit` ENDED states in that
order. Those few are then read as they stood and ordered here.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, select

from app.db import Reader
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import action_reads
from app.services.action_filters import A, filter_conditions, filter_values
from app.services.as_of import ENDED, on_states_of
from app.services.overdue_rule import ACTIVE_STATUSES
from app.services.stats_delta import skipped_ids
from app.services.stats_tallied import walk_overdue, withdrawn_findings

_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)


def _walked(
    db: Reader, active: tuple[str, ...], as_of: date, skipped: frozenset[int], limit: int
) -> list[int]:
    found: list[int] = []
    last_day: date | None = None
    walk = walk_overdue(db, StatsGroupBy.STATUS, active, as_of, withdrawn_findings(db), skipped)
    with closing(walk) as rows:
        for due, action_id, *_ in rows:
            if last_day is not None and due > last_day:
                break
            found.append(action_id)
            if len(found) == limit:
                last_day = due  # the rest of this day may come first (higher ids)
    return found


@lru_cache(maxsize=64)
def _first_ended_statement(shape: tuple[str, ...]) -> Any:
    """The first `first_limit` overdue actions of `shape` by due date among the ended states
    that held on the day. Built once per shape: as_of caches the rewrite by statement."""
    first = select(A.id).where(*filter_conditions(shape)).order_by(A.due_date, A.id.desc())
    return on_states_of(first.limit(bindparam("first_limit", type_=Integer())), ENDED)


def oldest_page(
    *, db: Reader, filters: ActionFilters, as_of: date, limit: int
) -> list[dict[str, Any]]:
    """The first `limit` actions overdue on `as_of` (a past day) by days overdue, most first,
    of `filters` (active statuses only, as `stats_delta.answers` takes them), as they stood."""
    if limit <= 0:
        return []
    shape, params = filter_values(filters=replace(filters, overdue=True), as_of=as_of)
    active = tuple(status for status in _ACTIVE if status in (filters.statuses or _ACTIVE))
    skipped = skipped_ids(db, active, params)
    ids = set(_walked(db, active, as_of, skipped, limit))
    ids.update(db.scalars(_first_ended_statement(shape), {**params, "first_limit": limit}))
    items = action_reads.many_actions(db=db, action_ids=sorted(ids), as_of=as_of)
    items.sort(key=lambda item: (item["due_date"], -item["id"]))
    return items[:limit]
