"""Webhook deliveries: fanned out from the feed's new events, claimed by workers, recorded.

A worker claims due deliveries in one short transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, so that several workers share the queue; SQLite has one writer at a time): each
gets its next attempt, numbered and marked in flight, and a lease (`next_attempt_at` moved
past the longest an attempt can take). The transaction commits before any HTTP call, and the
outcome is recorded in another, only if the attempt is still the delivery's latest. So no
attempt is made twice, and a worker that dies mid-delivery loses nothing: when the lease
ends the delivery is claimed again, as a new attempt with the same `webhook-id`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from app.db import Reader
from app.enums import EventType
from app.errors import Conflict, NotFound
from app.models import OutboxEvent, Report, Webhook, WebhookAttempt, WebhookDelivery
from app.services.cursors import decode_delivery_cursor, encode_delivery_cursor
from app.settings import get_settings

_EVENT = cast(Table, OutboxEvent.__table__)
_HOOK = cast(Table, Webhook.__table__)
_DELIVERY = cast(Table, WebhookDelivery.__table__)
_ATTEMPT = cast(Table, WebhookAttempt.__table__)

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
IN_FLIGHT, ABANDONED = "in_flight", "abandoned"
# Backoff: 10 s after the first failure, doubling up to 6 hours, each drawn between half and
# all of that (jitter, so that retries of many deliveries do not arrive together).
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=6)


def message_id(event_id: int) -> str:
    """The `webhook-id` of an event's deliveries: the same on every attempt and redelivery."""
    return f"evt_{event_id}"


def backoff(attempt: int) -> timedelta:
    """How long after failed attempt number `attempt` (1, 2, ...) the next one is due."""
    longest: timedelta = min(FIRST_RETRY * 2 ** min(attempt - 1, 20), LONGEST_RETRY)
    # Not a secret: spreads retries out.
    return longest * random.uniform(0.5, 1.0)  # noqa: S311


def lease() -> timedelta:
    """How long a claimed attempt keeps others off its delivery: well beyond its timeouts."""
    return timedelta(seconds=5 * get_settings().webhook_timeout_seconds + 60)


def fan_out(*, session: Session, event_ids: Sequence[int], now: datetime) -> int:
    """A pending delivery of each event to each enabled webhook that wants it (its types and
    filters); returns how many."""
    if not event_ids:
        return 0
    hooks = session.execute(select(_HOOK).where(_HOOK.c.disabled_at.is_(None))).all()
    if not hooks:
        return 0
    events = session.execute(
        select(_EVENT.c.id, _EVENT.c.type, _EVENT.c.report_id, _EVENT.c.owner_id, _EVENT.c.payload)
        .where(_EVENT.c.id.in_(event_ids))
        .order_by(_EVENT.c.id)
    ).all()
    report_ids = {event.report_id for event in events if event.report_id is not None}
    forces = dict(
        session.execute(select(Report.id, Report.force).where(Report.id.in_(report_ids))).all()
    )
    rows = []
    for event in events:
        force = forces.get(event.report_id)
        owners = {event.owner_id}
        if event.type == EventType.ACTION_OWNER_CHANGED:
            owners.add(event.payload["data"]["from"])
        for hook in hooks:
            if (
                event.type in hook.events
                and hook.report_id in (None, event.report_id)
                and (hook.owner_id is None or hook.owner_id in owners)
                and (hook.force is None or (force or "").casefold() == hook.force.casefold())
            ):
                rows.append(
                    {
                        "webhook_id": hook.id,
                        "event_id": event.id,
                        "status": PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "retry_started_at": now,
                        "created_at": now,
                    }
                )
    if rows:
        session.execute(insert(_DELIVERY), rows)
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    """An attempt a worker holds: everything it needs to send it, as plain values."""

    delivery_id: int
    number: int
    webhook_id: int
    url: str
    secret: str
    event_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    response_status: int | None = None
    latency_ms: int | None = None
    error: str | None = None


def claim(*, session: Session, now: datetime, limit: int) -> list[Claimed]:
    """Up to `limit` due deliveries of enabled webhooks, each with its next attempt started
    (in flight, under a lease); skips deliveries another worker holds locked."""
    due = session.execute(
        select(_DELIVERY.c.id, _DELIVERY.c.attempts)
        .join(_HOOK, _HOOK.c.id == _DELIVERY.c.webhook_id)
        .where(
            _DELIVERY.c.status == PENDING,
            _DELIVERY.c.next_attempt_at <= now,
            _HOOK.c.disabled_at.is_(None),
        )
        .order_by(_DELIVERY.c.next_attempt_at, _DELIVERY.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=_DELIVERY)
    ).all()
    if not due:
        return []
    ids = [row.id for row in due]
    # An attempt still in flight after its lease: its worker died before recording it.
    session.execute(
        update(_ATTEMPT)
        .where(_ATTEMPT.c.delivery_id.in_(ids), _ATTEMPT.c.outcome == IN_FLIGHT)
        .values(
            outcome=ABANDONED,
            finished_at=now,
            error="its worker stopped before recording an answer",
        )
    )
    session.execute(
        insert(_ATTEMPT),
        [
            {
                "delivery_id": row.id,
                "number": row.attempts + 1,
                "outcome": IN_FLIGHT,
                "started_at": now,
            }
            for row in due
        ],
    )
    session.execute(
        update(_DELIVERY)
        .where(_DELIVERY.c.id == bindparam("delivery_id"))
        .values(attempts=bindparam("number"), next_attempt_at=now + lease()),
        [{"delivery_id": row.id, "number": row.attempts + 1} for row in due],
    )
    details = session.execute(
        select(
            _DELIVERY.c.id,
            _DELIVERY.c.attempts,
            _DELIVERY.c.webhook_id,
            _HOOK.c.url,
            _HOOK.c.secret,
            _EVENT.c.id.label("event_id"),
            _EVENT.c.payload,
        )
        .join(_HOOK, _HOOK.c.id == _DELIVERY.c.webhook_id)
        .join(_EVENT, _EVENT.c.id == _DELIVERY.c.event_id)
        .where(_DELIVERY.c.id.in_(ids))
        .order_by(_DELIVERY.c.next_attempt_at, _DELIVERY.c.id)
    ).all()
    return [
        Claimed(
            delivery_id=row.id,
            number=row.attempts,
            webhook_id=row.webhook_id,
            url=row.url,
            secret=row.secret,
            event_id=row.event_id,
            payload=row.payload,
        )
        for row in details
    ]


def record(*, session: Session, claimed: Claimed, outcome: Outcome, now: datetime) -> None:
    """The outcome of a claimed attempt: the delivery done, due again after a backoff, or
    given up once its retry window is over (and the webhook disabled once it has failed for
    that long). Nothing if the attempt is no longer in flight (abandoned for a later one).

    Locks the webhook, then the delivery, then the attempt: claims lock deliveries before
    attempts, and enabling a webhook locks it before its deliveries, so none waits in a cycle."""
    webhook = session.get(Webhook, claimed.webhook_id, with_for_update=True)
    delivery = session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    if webhook is None or delivery is None:
        return  # removed meanwhile
    finished = session.execute(
        update(_ATTEMPT)
        .where(
            _ATTEMPT.c.delivery_id == claimed.delivery_id,
            _ATTEMPT.c.number == claimed.number,
            _ATTEMPT.c.outcome == IN_FLIGHT,
        )
        .values(
            outcome=SUCCEEDED if outcome.ok else FAILED,
            finished_at=now,
            response_status=outcome.response_status,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    if (
        cast(CursorResult[Any], finished).rowcount != 1
        or delivery.attempts != claimed.number
        or delivery.status != PENDING
    ):
        return  # a later attempt (or a redelivery) decides
    delivery.response_status = outcome.response_status
    delivery.latency_ms = outcome.latency_ms
    delivery.error = outcome.error
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = SUCCEEDED, now, None
        webhook.failing_since = None
        session.flush()
        return
    webhook.failing_since = webhook.failing_since or now
    window = timedelta(hours=get_settings().webhook_retry_hours)
    retry_at = now + backoff(claimed.number)
    if retry_at <= delivery.retry_started_at + window:
        delivery.next_attempt_at = retry_at
        session.flush()
        return
    delivery.status, delivery.next_attempt_at = FAILED, None
    # Given up. Persistent failure, if nothing reached the webhook since this delivery's first
    # attempt of its window: disabled, until someone looks at it.
    first_attempt = session.scalar(
        select(func.min(_ATTEMPT.c.started_at)).where(
            _ATTEMPT.c.delivery_id == delivery.id,
            _ATTEMPT.c.started_at >= delivery.retry_started_at,
        )
    )
    if webhook.disabled_at is None and webhook.failing_since <= (first_attempt or now):
        webhook.disabled_at = now
        webhook.disabled_reason = (
            f"Every attempt failed for {get_settings().webhook_retry_hours:g} hours; the "
            f"last: {outcome.error or outcome.response_status}."
        )
    session.flush()


def redeliver(*, session: Session, webhook_id: int, delivery_id: int, now: datetime) -> None:
    """Queue a delivery again, now, with a new retry window (and the same webhook-id)."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound(f"Webhook {webhook_id} has no delivery with id {delivery_id}.")
    in_flight = session.scalar(
        select(func.count()).where(
            _ATTEMPT.c.delivery_id == delivery_id, _ATTEMPT.c.outcome == IN_FLIGHT
        )
    )
    if in_flight and delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        raise Conflict(
            f"Delivery {delivery_id} is being attempted right now; ask again once it is done.",
            delivery_id=delivery_id,
        )
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.retry_started_at = now
    session.flush()


def page(
    *, db: Reader, webhook_id: int, limit: int, cursor: str | None, only: int | None = None
) -> dict[str, Any]:
    """The webhook's deliveries, newest first, each with its attempts (shaped like
    `DeliveryPage`); `only` a single delivery. Does not check that the webhook exists."""
    query = (
        select(
            _DELIVERY.c.id,
            _DELIVERY.c.event_id,
            _EVENT.c.type.label("event_type"),
            _DELIVERY.c.status,
            _DELIVERY.c.attempts,
            _DELIVERY.c.response_status,
            _DELIVERY.c.latency_ms,
            _DELIVERY.c.error,
            _DELIVERY.c.next_attempt_at,
            _DELIVERY.c.created_at,
            _DELIVERY.c.delivered_at,
        )
        .join(_EVENT, _EVENT.c.id == _DELIVERY.c.event_id)
        .where(_DELIVERY.c.webhook_id == webhook_id)
    )
    if only is not None:
        query = query.where(_DELIVERY.c.id == only)
    if cursor is not None:
        before = decode_delivery_cursor(cursor, webhook_id=webhook_id)
        query = query.where(_DELIVERY.c.id < before)
    rows = db.execute(query.order_by(_DELIVERY.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [dict(row) for row in rows[:limit]]
    attempts: dict[int, list[dict[str, Any]]] = {item["id"]: [] for item in items}
    if items:
        for attempt in db.execute(
            select(
                _ATTEMPT.c.delivery_id,
                _ATTEMPT.c.number,
                _ATTEMPT.c.outcome,
                _ATTEMPT.c.started_at,
                _ATTEMPT.c.finished_at,
                _ATTEMPT.c.response_status,
                _ATTEMPT.c.latency_ms,
                _ATTEMPT.c.error,
            )
            .where(_ATTEMPT.c.delivery_id.in_(list(attempts)))
            .order_by(_ATTEMPT.c.delivery_id, _ATTEMPT.c.number)
        ).mappings():
            entry = dict(attempt)
            attempts[entry.pop("delivery_id")].append(entry)
    for item in items:
        item["message_id"] = message_id(item["event_id"])
        item["attempt_log"] = attempts[item["id"]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_delivery_cursor(webhook_id=webhook_id, last_id=items[-1]["id"])
    return {"items": items, "next_cursor": next_cursor}


def redeliver_and_view(
    *, session: Session, webhook_id: int, delivery_id: int, now: datetime
) -> dict[str, Any]:
    redeliver(session=session, webhook_id=webhook_id, delivery_id=delivery_id, now=now)
    shown = page(db=session, webhook_id=webhook_id, limit=1, cursor=None, only=delivery_id)
    item: dict[str, Any] = shown["items"][0]
    return item
