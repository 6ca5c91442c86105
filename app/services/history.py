"""The action history: every change writes an event, in the caller's transaction (and, if it
changes what app.services.states keeps, the action's new state); it is read a page at a time
(keyset on the event id, through the index on (action_id, id)), so that neither a read nor a
write ever handles an action's whole history. Each entry that stands for a public event also
writes that event to the outbox (app.services.outbox), in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app import clock
from app.db import Reader
from app.enums import EventKind
from app.models import Action
from app.models.event import ActionEvent
from app.principal import Principal
from app.schemas.filters import HistorySort
from app.services import outbox, states
from app.services.cursors import decode_history_cursor, encode_history_cursor

_EVENT = cast(Table, ActionEvent.__table__)


def record(
    *,
    session: Session,
    action: Action,
    kind: EventKind,
    actor: Principal,
    changes: Mapping[str, Any] | None = None,
    comment: str | None = None,
    at: datetime | None = None,
) -> ActionEvent:
    """Write one event (at `at`, default now) and, when it changes a field the action's states
    keep, begin its new state at the same moment (app.services.states); and its public event,
    if it stands for one, to the outbox."""
    now = at or clock.utcnow()
    event = ActionEvent(
        action_id=action.id,
        kind=kind,
        actor=actor.label,
        token_id=actor.token_id,
        user_name=actor.user,
        created_at=now,
        changes=dict(changes or {}),
        comment=comment,
    )
    session.add(event)
    if states.moves_state(kind, changes):
        states.begin(session=session, action_ids=[action.id], at=now)
    outbox.from_history(
        session=session,
        action=action,
        kind=kind,
        actor=actor,
        changes=event.changes,
        comment=comment,
        at=now,
    )
    return event


def record_many(
    *,
    session: Session,
    events: Iterable[tuple[int, Mapping[str, Any] | None]],
    kind: EventKind,
    actor: Principal,
    comment: str | None = None,
    at: datetime | None = None,
) -> int:
    """One event of `kind` per (action id, changes), written as one batch of INSERTs (at `at`,
    default now): for imports, where thousands of actions change at once and an ORM object per
    event would cost more than the rows. Returns how many were written."""
    now = at or clock.utcnow()
    entries = list(events)
    rows: list[dict[str, Any]] = [
        {
            "action_id": action_id,
            "kind": kind,
            "actor": actor.label,
            "token_id": actor.token_id,
            "user_name": actor.user,
            "created_at": now,
            "changes": dict(changes or {}),
            "comment": comment,
        }
        for action_id, changes in entries
    ]
    if rows:
        session.execute(insert(_EVENT), rows)
        moved = [action_id for action_id, changes in entries if states.moves_state(kind, changes)]
        if moved:
            states.begin(session=session, action_ids=moved, at=now)
    outbox.from_history_many(
        session=session, entries=entries, kind=kind, actor=actor, comment=comment, at=now
    )
    return len(rows)


# What EventOut shows (not token_id).
_SHOWN = (
    _EVENT.c.id,
    _EVENT.c.action_id,
    _EVENT.c.kind,
    _EVENT.c.actor,
    _EVENT.c.user_name.label("user"),
    _EVENT.c.created_at,
    _EVENT.c.changes,
    _EVENT.c.comment,
)


def events_page(
    *,
    db: Reader,
    action_id: int,
    sort: HistorySort = HistorySort.ID,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of `action_id`'s events as a plain dict shaped like `Page[EventOut]`: `limit`
    events after the cursor's in `sort`'s order, and the cursor of the next page (None at the
    end). Does not check that the action exists."""
    query = select(*_SHOWN).where(_EVENT.c.action_id == action_id)
    if cursor is not None:
        last_id = decode_history_cursor(cursor, action_id=action_id, sort=sort)
        query = query.where(_EVENT.c.id < last_id if sort.descending else _EVENT.c.id > last_id)
    query = query.order_by(_EVENT.c.id.desc() if sort.descending else _EVENT.c.id)
    # One more than the page: whether there is a next page, without counting.
    items = [dict(row) for row in db.execute(query.limit(limit + 1)).mappings()]
    next_cursor = None
    if len(items) > limit:
        del items[limit:]
        next_cursor = encode_history_cursor(action_id=action_id, sort=sort, last_id=items[-1]["id"])
    return {"items": items, "next_cursor": next_cursor, "total": None}
