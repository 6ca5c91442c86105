"""The event feed: the sequencer that gives committed events their feed position, and the
feed read a page at a time after a position (keyset on `position`, oldest first).

Why a sequencer: on PostgreSQL a transaction may commit event 9 after another committed event
10, so a reader paging by id could pass 10 before 9 exists for it, and never see 9. The
sequencer (one at a time: an advisory lock on PostgreSQL; SQLite has one writer) numbers only
committed events, always above every number given before, so a reader never misses one: an
event is in the feed once a worker pass (`afi worker`, or the one in `afi serve`) numbered it."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from app.db import Reader
from app.enums import EventType
from app.errors import InvalidInput
from app.models import OutboxEvent
from app.services.cursors import InvalidCursor, decode_event_cursor, encode_event_cursor

_OUTBOX = cast(Table, OutboxEvent.__table__)
# pg_advisory_xact_lock key of the sequencer ("afi.seq" in ASCII).
_SEQUENCER_LOCK = 0x6166692E736571
# Events numbered per pass (one transaction): an import's worth.
SEQUENCE_BATCH = 5000


def sequence(*, session: Session, limit: int = SEQUENCE_BATCH) -> list[int]:
    """Number up to `limit` committed events that have no position yet, in id order, after
    every position given so far; returns their ids in that order."""
    if session.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction: the next sequencer sees these positions.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCER_LOCK})
    ids = list(
        session.scalars(
            select(_OUTBOX.c.id)
            .where(_OUTBOX.c.position.is_(None))
            .order_by(_OUTBOX.c.id)
            .limit(limit)
        )
    )
    if not ids:
        return ids
    last = session.scalar(select(func.max(_OUTBOX.c.position))) or 0
    session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id == bindparam("event_id"))
        .values(position=bindparam("new_position")),
        [
            {"event_id": event_id, "new_position": last + number}
            for number, event_id in enumerate(ids, start=1)
        ],
    )
    return ids


def page(
    *, db: Reader, after: str | None, types: tuple[EventType, ...], limit: int
) -> dict[str, Any]:
    """Up to `limit` events after the cursor `after` (from the start without one), of `types`
    (all without any), oldest first, shaped like `EventFeedPage`. `next_cursor` is where to
    read on from, also at the end of the feed (to poll for more later); `has_more` says whether
    more are there already."""
    try:
        position = decode_event_cursor(after) if after is not None else 0
    except InvalidCursor as exc:
        raise InvalidInput(
            f"Invalid value for: after ({exc.extra['errors'][0]['message']}). Give the "
            "next_cursor of a page of the event feed, or start again without it.",
            field="after",
            location="query",
            error_type="cursor",
        ) from None
    query = select(_OUTBOX.c.id, _OUTBOX.c.position, _OUTBOX.c.payload).where(
        _OUTBOX.c.position > position
    )
    if types:
        query = query.where(_OUTBOX.c.type.in_([type_.value for type_ in types]))
    rows = db.execute(query.order_by(_OUTBOX.c.position).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = [{"id": row.id, **row.payload} for row in rows]
    if rows:
        next_cursor: str | None = encode_event_cursor(position=rows[-1].position)
    else:
        next_cursor = after
    return {"items": items, "next_cursor": next_cursor, "has_more": has_more}
