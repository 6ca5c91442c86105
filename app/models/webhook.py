from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from app.models.base import Base


class Webhook(Base):
    """A subscription: events of the listed types (and filters) are POSTed to `url`, signed
    with `secret` (Standard Webhooks)."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept as is: signing needs it (the API shows it once, when the webhook is made).
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[str]] = mapped_column(JSON)
    # Filters (no foreign keys: a filter on a report or owner since deleted matches nothing,
    # rather than the deletion being refused or the subscription widened or lost).
    report_id: Mapped[int | None]
    owner_id: Mapped[int | None]
    force: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    # Since when every attempt failed (None after a success): disabled once it lasts too long.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One event for one webhook: delivered at least once, retried with backoff until it
    succeeds or its retry window ends. Every attempt keeps the same webhook-id."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The worker's queue: pending deliveries by when they are due.
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook_id_id", "webhook_id", "id"),
        UniqueConstraint("webhook_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_event.id", ondelete="CASCADE"), index=True
    )
    # pending, succeeded or failed (gave up).
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the next attempt is due; while one is in flight, when its lease ends (a worker that
    # died mid-delivery leaves it to be tried again then).
    next_attempt_at: Mapped[datetime | None]
    # Retries go on until this is AFI_WEBHOOK_RETRY_HOURS old (a redelivery starts it again).
    retry_started_at: Mapped[datetime]
    response_status: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One attempt of a delivery: claimed (in_flight), then succeeded or failed; abandoned if
    its worker died before recording it. Unique per (delivery, number): no attempt twice."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"))
    number: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
