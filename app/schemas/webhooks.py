"""Webhook subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.enums import EventType
from app.schemas.common import Force, Id, Schema, SingleLine

WebhookUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), SingleLine
]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl = Field(
        description="An http:// or https:// URL without credentials or fragment. Its host must "
        "not be in a loopback, private, link-local or other non-public range (unless "
        "AFI_WEBHOOK_ALLOW_PRIVATE=true)."
    )
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))
    report_id: Id | None = Field(default=None, description="Only events of this report.")
    owner_id: Id | None = Field(
        default=None,
        description="Only events of actions this owner has (an owner change: had or has).",
    )
    force: Force | None = Field(
        default=None, description="Only events of this force's reports (case-insensitive)."
    )


class WebhookOut(Schema):
    id: int
    url: str
    events: list[EventType]
    report_id: int | None
    owner_id: int | None
    force: str | None
    created_at: datetime
    created_by: str
    failing_since: datetime | None = Field(
        description="Since when every delivery attempt failed; null after a success."
    )
    disabled_at: datetime | None = Field(
        description="When it was disabled for failing for AFI_WEBHOOK_RETRY_HOURS; a disabled "
        "webhook gets no new deliveries."
    )
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_...`, Standard Webhooks). It is shown this once."
    )


class AttemptOutcome(StrEnum):
    """How an attempt went (app.services.deliveries): abandoned when its worker stopped."""

    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


class DeliveryStatus(StrEnum):
    """Where a delivery stands (app.services.deliveries): failed when retries are given up."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AttemptOut(Schema):
    number: int
    outcome: AttemptOutcome
    started_at: datetime
    finished_at: datetime | None
    response_status: int | None
    latency_ms: int | None
    error: str | None


class DeliveryOut(Schema):
    id: int
    event_id: int
    event_type: EventType
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    status: DeliveryStatus
    attempts: int
    response_status: int | None = Field(description="The last attempt's HTTP status.")
    latency_ms: int | None = Field(description="The last attempt's time to the answer.")
    error: str | None = Field(description="Why the last attempt failed.")
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None
