"""What changed between two days, for a meeting that last met on `since`: status moves, items
proposed for closure (moved to pending sign-off), revised due dates and RAG changes, from the
history; and actions that became overdue, from the states (app.services.states).

Oldest first, at most `limit` items (MAX_CHANGES by default): `truncated` says when more were
left out, and a shorter window gives them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, bindparam, or_, select

from app.db import Reader
from app.enums import ActionStatus, EventKind
from app.errors import InvalidInput
from app.models import Action, ActionEvent
from app.schemas.changes import ChangeKind, ChangesOut
from app.schemas.filters import ActionFilters
from app.services.action_filters import filter_conditions, filter_values
from app.services.as_of import at_day
from app.services.overdue_rule import ACTIVE_STATUSES
from app.services.states import STATE, day_end

MAX_CHANGES = 5000
# The longest window answered, and the one when `since` is not given, in days.
MAX_DAYS = 366
DEFAULT_DAYS = 90
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


def _check(filters: ActionFilters, since: date, until: date) -> None:
    for name in _ONE_DAY:
        if getattr(filters, name) is not None:
            raise InvalidInput(
                f"{name} asks about one day; the changes cover since to until.",
                field=name,
                location="query",
            )
    if since > until:
        raise InvalidInput("since is after until.", field="since", location="query")
    if (until - since).days >= MAX_DAYS:
        raise InvalidInput(
            f"since to until is more than {MAX_DAYS} days; ask for a shorter window.",
            field="since",
            location="query",
        )


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
            or_(
                E.kind.in_([*_STATUS_KINDS, EventKind.DUE_DATE_REVISED]),
                and_(E.kind == EventKind.PROGRESS_UPDATED, rag),
            ),
            *filter_conditions(shape),
        )
        .order_by(E.created_at, E.id)
        # Each event is one item: no more than the answer can hold (and one to say it was cut)
        # are read, rather than every event of the window (PostgreSQL's driver fetches all).
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
    db: Reader, filters: ActionFilters, since: date, until: date, limit: int
) -> Iterator[dict[str, Any]]:
    shape, params = filter_values(filters=replace(filters, as_of=None), as_of=until)
    params.update(start=day_end(since - timedelta(days=1)), end=day_end(until), limit=limit + 1)
    # The filters apply to each action as it stood at the end of `until`.
    statement = at_day(_event_statement(shape), until)
    for row in db.execute(statement, params):
        yield _from_event(row)


def _newly_overdue(
    db: Reader, filters: ActionFilters, since: date, until: date
) -> Iterator[dict[str, Any]]:
    """Actions whose due date passed in the window (overdue from the day after it) and that
    were open, in progress or blocked with that due date, and their finding in the report, at
    the end of that day. Read from the states that held in the window, each checked here for
    the moment that matters (a day's end is a moment of AFI_TIMEZONE)."""
    shape, params = filter_values(filters=replace(filters, as_of=None), as_of=until)
    first_due, last_due = since - timedelta(days=1), until - timedelta(days=1)
    statement = (
        select(S.action_id, S.due_date, S.valid_from, S.valid_to, A.reference, A.title)
        .join_from(STATE, _ACTION, A.id == S.action_id)
        .where(
            S.due_date >= first_due,
            S.due_date <= last_due,
            S.status.in_(ACTIVE_STATUSES),
            S.finding_withdrawn_at.is_(None),
            S.valid_to >= day_end(first_due),
            S.valid_from < day_end(until),
            *filter_conditions(shape),
        )
        .order_by(S.due_date, S.action_id)
    )
    # The filters apply to each action as it stood at the end of `until`.
    for row in db.execute(at_day(statement, until), params):
        became = day_end(row.due_date)  # the start of the first day it was overdue
        held_then = day_end(row.due_date + timedelta(days=1))
        if not row.valid_from < held_then <= row.valid_to:
            continue
        yield {
            "kind": ChangeKind.NEWLY_OVERDUE,
            "action_id": row.action_id,
            "reference": row.reference,
            "title": row.title,
            "at": became.astimezone(UTC),
            "from": None,
            "to": row.due_date.isoformat(),
            "actor": None,
            "reason": None,
        }


def changes(
    *,
    db: Reader,
    filters: ActionFilters,
    since: date,
    until: date,
    limit: int = MAX_CHANGES,
) -> ChangesOut:
    """What changed from the start of `since` to the end of `until` (days in AFI_TIMEZONE),
    oldest first, for the actions the filters select as they stood at the end of `until`; at
    most `limit` items."""
    _check(filters, since, until)
    merged = heapq.merge(
        _events(db, filters, since, until, limit),
        _newly_overdue(db, filters, since, until),
        key=lambda item: _moment(item["at"]),
    )
    items: list[dict[str, Any]] = []
    truncated = False
    for item in merged:
        if len(items) == limit:
            truncated = True
            break
        items.append(item)
    return ChangesOut.model_validate(
        {"since": since, "until": until, "items": items, "truncated": truncated}
    )


def _moment(value: datetime) -> datetime:
    return value.astimezone(UTC)
