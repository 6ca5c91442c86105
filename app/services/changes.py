"""What changed between two days, for a meeting that last met on `since`: status moves, items
proposed for closure (moved to pending sign-off), revised due dates and RAG changes, from the
history; and actions that became overdue, from the states (app.services.states).

Oldest first, a page of at most `limit` items at a time. Paging is keyset: each change has a
unique position (its moment; then history events before the actions newly overdue at the same
moment; then the event's or the action's id), and a page reads from the position after the last
one of the page before (an opaque cursor, app.services.cursors, that also fixes the window, so
that a window ending "today" does not move at midnight between pages).
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, bindparam, or_, select

from app import clock
from app.db import Reader
from app.enums import ActionStatus, EventKind
from app.errors import InvalidInput
from app.models import Action, ActionEvent
from app.schemas.changes import ChangeKind, ChangesOut
from app.schemas.common import ID_MAX
from app.schemas.filters import ActionFilters
from app.services.action_filters import filter_conditions, filter_values
from app.services.as_of import at_day
from app.services.cursors import (
    ChangePosition,
    ChangesCursor,
    InvalidCursor,
    decode_changes_cursor,
    encode_changes_cursor,
    filters_fingerprint,
)
from app.services.overdue_rule import ACTIVE_STATUSES
from app.services.states import STATE, day_end
from app.settings import get_settings

MAX_CHANGES = 5000
# The items of a page when the client does not say.
DEFAULT_LIMIT = 1000
# The longest window answered, and the one when `since` is not given, in days.
MAX_DAYS = 366
DEFAULT_DAYS = 90
# Rows of newly overdue states fetched at a time (checked here, so no LIMIT bounds them).
_OVERDUE_BATCH = 500
_EVENT = cast(Table, ActionEvent.__table__)
_ACTION = cast(Table, Action.__table__)
E = _EVENT.c
A = _ACTION.c
S = STATE.c
_STATUS_KINDS = (
    EventKind.TRANSITION,
    EventKind.SIGNED_OFF,
    EventKind.SIGN_OFF_REFUSED,
    EventKind.REOPENED,
    EventKind.REINSTATED,
)
_ONE_DAY = ("as_of", "overdue", "stale")
# A change's position: (its moment in UTC, 0 for a history event or 1 for a newly overdue
# action, the event's or the action's id). Unique, and the order of the answer.
Key = tuple[datetime, int, int]


def _check_filters(filters: ActionFilters) -> None:
    for name in _ONE_DAY:
        if getattr(filters, name) is not None:
            raise InvalidInput(
                f"{name} asks about one day; the changes cover since to until.",
                field=name,
                location="query",
            )


def _check_window(since: date, until: date) -> None:
    if since > until:
        raise InvalidInput("since is after until.", field="since", location="query")
    if (until - since).days >= MAX_DAYS:
        raise InvalidInput(
            f"since to until is more than {MAX_DAYS} days; ask for a shorter window.",
            field="since",
            location="query",
        )


def _window(
    since: date | None, until: date | None, cursor: ChangesCursor | None
) -> tuple[date, date]:
    """The window asked for: the cursor's (since and until given with it must be its own), else
    since and until, by default the DEFAULT_DAYS days to today."""
    if cursor is None:
        until = until or clock.today()
        return since or until - timedelta(days=DEFAULT_DAYS), until
    if since not in (None, cursor.since) or until not in (None, cursor.until):
        raise InvalidCursor(
            f"it was made for since={cursor.since.isoformat()}&until={cursor.until.isoformat()}"
        )
    return cursor.since, cursor.until


@lru_cache(maxsize=64)
def _event_statement(shape: tuple[str, ...]) -> Any:
    rag = or_(*(E.changes[("rag", i)].as_string().is_not(None) for i in (0, 1)))
    return (
        select(
            E.id,
            E.kind,
            E.created_at,
            E.changes,
            E.actor,
            E.comment,
            A.id.label("action_id"),
            A.reference,
            A.title,
        )
        .join_from(_EVENT, _ACTION, A.id == E.action_id)
        .where(
            E.created_at >= _bound("start"),
            E.created_at < _bound("end"),
            # After the position (start, after_id): the window's start and 0 on a first page.
            or_(E.created_at > _bound("start"), E.id > bindparam("after_id", type_=Integer())),
            or_(
                E.kind.in_([*_STATUS_KINDS, EventKind.DUE_DATE_REVISED]),
                and_(E.kind == EventKind.PROGRESS_UPDATED, rag),
            ),
            *filter_conditions(shape),
        )
        .order_by(E.created_at, E.id)
        # Each event is one item: no more than the page can hold (and one to say there is
        # more) are read, rather than every event of the window (PostgreSQL's driver fetches
        # all).
        .limit(bindparam("limit", type_=Integer()))
    )


def _bound(name: str) -> Any:
    return bindparam(name, type_=E.created_at.type)


def _from_event(row: Any) -> dict[str, Any]:
    changes = row.changes or {}
    item: dict[str, Any] = {
        "action_id": row.action_id,
        "reference": row.reference,
        "title": row.title,
        "at": row.created_at,
        "actor": row.actor,
        "reason": row.comment,
    }
    if row.kind == EventKind.DUE_DATE_REVISED:
        before, after = changes["due_date"]
        kind = ChangeKind.DUE_DATE_REVISED
    elif row.kind == EventKind.PROGRESS_UPDATED:
        before, after = changes["rag"]
        kind = ChangeKind.RAG_CHANGED
    else:
        before, after = changes["status"]
        proposed = after == ActionStatus.PENDING_SIGN_OFF
        kind = ChangeKind.PROPOSED_FOR_CLOSURE if proposed else ChangeKind.STATUS_CHANGED
    return {**item, "kind": kind, "from": before, "to": after}


def _events(
    db: Reader,
    filters: ActionFilters,
    window: tuple[date, date],
    after: ChangePosition | None,
    limit: int,
) -> Generator[tuple[Key, dict[str, Any]], None, None]:
    since, until = window
    shape, params = filter_values(filters=replace(filters, as_of=None), as_of=until)
    start, after_id = _starts(since), 0
    if after is not None:
        # Every event at the moment of a newly overdue action comes before it.
        start, after_id = after.at, ID_MAX if after.overdue else after.last_id
    params.update(start=start, end=day_end(until), after_id=after_id, limit=limit + 1)
    # The filters apply to each action as it stood at the end of `until`.
    statement = at_day(_event_statement(shape), until)
    for row in db.execute(statement, params):
        yield (_moment(row.created_at), 0, row.id), _from_event(row)


def _overdue_after(after: ChangePosition | None, first_due: date) -> tuple[date, int]:
    """The (due date, action id) after which the newly overdue actions of a page come: an
    action is newly overdue at the end of its due date (day_end), after the history events of
    that moment."""
    if after is None:
        return first_due, 0
    local = after.at.astimezone(get_settings().tz)
    due = local.date() - timedelta(days=1)  # day_end(due) is the midnight that began `local`
    if day_end(due) < after.at:
        return due + timedelta(days=1), 0
    return due, after.last_id if after.overdue else 0


@lru_cache(maxsize=64)
def _overdue_statement(shape: tuple[str, ...]) -> Any:
    after_due = bindparam("after_due", type_=S.due_date.type)
    return (
        select(S.action_id, S.due_date, S.valid_from, S.valid_to, A.reference, A.title)
        .join_from(STATE, _ACTION, A.id == S.action_id)
        .where(
            S.due_date >= after_due,
            S.due_date <= bindparam("last_due", type_=S.due_date.type),
            # After the position (after_due, after_action): first_due and 0 on a first page.
            or_(S.due_date > after_due, S.action_id > bindparam("after_action", type_=Integer())),
            S.status.in_(ACTIVE_STATUSES),
            S.finding_withdrawn_at.is_(None),
            S.valid_to >= bindparam("held_from", type_=S.valid_to.type),
            S.valid_from < bindparam("held_to", type_=S.valid_from.type),
            *filter_conditions(shape),
        )
        .order_by(S.due_date, S.action_id)
    )


def _newly_overdue(
    db: Reader, filters: ActionFilters, window: tuple[date, date], after: ChangePosition | None
) -> Generator[tuple[Key, dict[str, Any]], None, None]:
    """Actions whose due date passed in the window (overdue from the day after it) and that
    were open, in progress or blocked with that due date, and their finding in the report, at
    the end of that day. Read from the states that held in the window, each checked here for
    the moment that matters (a day's end is a moment of AFI_TIMEZONE)."""
    since, until = window
    shape, params = filter_values(filters=replace(filters, as_of=None), as_of=until)
    first_due, last_due = since - timedelta(days=1), until - timedelta(days=1)
    after_due, after_action = _overdue_after(after, first_due)
    params.update(
        after_due=after_due,
        after_action=after_action,
        last_due=last_due,
        held_from=day_end(first_due),
        held_to=day_end(until),
    )
    # The filters apply to each action as it stood at the end of `until`. Read a batch at a
    # time: the rows are checked here, so no LIMIT bounds them, and PostgreSQL's driver would
    # otherwise fetch every one to the end of the window for each page.
    statement = at_day(_overdue_statement(shape), until).execution_options(
        stream_results=True, yield_per=_OVERDUE_BATCH
    )
    result = db.execute(statement, params)
    try:
        yield from _overdue_items(result)
    finally:
        result.close()


def _overdue_items(rows: Any) -> Generator[tuple[Key, dict[str, Any]], None, None]:
    for row in rows:
        became = day_end(row.due_date)  # the start of the first day it was overdue
        held_then = day_end(row.due_date + timedelta(days=1))
        if not row.valid_from < held_then <= row.valid_to:
            continue
        at = became.astimezone(UTC)
        yield (
            (at, 1, row.action_id),
            {
                "kind": ChangeKind.NEWLY_OVERDUE,
                "action_id": row.action_id,
                "reference": row.reference,
                "title": row.title,
                "at": at,
                "from": None,
                "to": row.due_date.isoformat(),
                "actor": None,
                "reason": None,
            },
        )


def changes(
    *,
    db: Reader,
    filters: ActionFilters,
    since: date | None = None,
    until: date | None = None,
    limit: int = MAX_CHANGES,
    cursor: str | None = None,
) -> ChangesOut:
    """What changed from the start of `since` to the end of `until` (days in AFI_TIMEZONE; by
    default the DEFAULT_DAYS days to today), oldest first, for the actions the filters select
    as they stood at the end of `until`: a page of at most `limit` items, from the `cursor` of
    the page before (its window, unless the same since and until are given again)."""
    _check_filters(filters)
    fingerprint = filters_fingerprint(filters)
    decoded = None if cursor is None else decode_changes_cursor(cursor, fingerprint=fingerprint)
    window = _window(since, until, decoded)
    if decoded is not None and (window[1] - window[0]).days >= MAX_DAYS:
        raise InvalidCursor("its window is malformed")  # never one this service made
    _check_window(*window)
    after = None if decoded is None else decoded.position
    if after is not None and not _starts(window[0]) <= after.at < day_end(window[1]):
        raise InvalidCursor("its position is not in its window")
    events = _events(db, filters, window, after, limit)
    overdue = _newly_overdue(db, filters, window, after)
    items: list[dict[str, Any]] = []
    keys: list[Key] = []
    next_cursor = None
    with closing(events), closing(overdue):  # a page stops early: their cursors are closed
        for key, item in heapq.merge(events, overdue, key=lambda keyed: keyed[0]):
            if len(items) == limit:  # there is more: the next page reads on from the last item
                last_at, origin, last_id = keys[-1]
                position = ChangePosition(at=last_at, overdue=origin == 1, last_id=last_id)
                next_cursor = encode_changes_cursor(
                    ChangesCursor(position=position, since=window[0], until=window[1]),
                    fingerprint=fingerprint,
                )
                break
            items.append(item)
            keys.append(key)
    return ChangesOut.model_validate(
        {
            "since": window[0],
            "until": window[1],
            "items": items,
            "truncated": next_cursor is not None,
            "next_cursor": next_cursor,
        }
    )


def _starts(day: date) -> datetime:
    """The first moment of `day` in AFI_TIMEZONE."""
    return day_end(day - timedelta(days=1))


def _moment(value: datetime) -> datetime:
    return value.astimezone(UTC)
