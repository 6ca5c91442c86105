"""Webhook subscriptions: made (with a secret shown once), listed, removed."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.errors import InvalidInput, NotFound
from app.models import Owner, Report, Webhook
from app.principal import Principal
from app.schemas.webhooks import WebhookCreate
from app.services import webhook_targets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def create(*, session: Session, data: WebhookCreate, actor: Principal) -> Webhook:
    """A subscription to `data.events` (with its filters); its `secret` is on the object."""
    webhook_targets.check_url(data.url)
    if data.report_id is not None and session.get(Report, data.report_id) is None:
        raise InvalidInput(f"No report with id {data.report_id}.", field="report_id")
    if data.owner_id is not None and session.get(Owner, data.owner_id) is None:
        raise InvalidInput(f"No owner with id {data.owner_id}.", field="owner_id")
    force = (data.force or "").strip() or None
    webhook = Webhook(
        url=data.url,
        secret=new_secret(),
        events=[str(type_) for type_ in dict.fromkeys(data.events)],
        report_id=data.report_id,
        owner_id=data.owner_id,
        force=force,
        created_at=clock.utcnow(),
        created_by=actor.user or actor.label,
    )
    session.add(webhook)
    session.flush()
    return webhook


def listed(*, session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.id)))


def get(*, session: Session, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound(f"No webhook with id {webhook_id}.")
    return webhook


def remove(*, session: Session, webhook_id: int) -> None:
    """Delete the subscription, its deliveries and their log."""
    session.delete(get(session=session, webhook_id=webhook_id))
    session.flush()


def shown(webhook: Webhook) -> dict[str, Any]:
    """What the API shows of a webhook (never its secret)."""
    return {
        column: getattr(webhook, column)
        for column in (
            "id",
            "url",
            "events",
            "report_id",
            "owner_id",
            "force",
            "created_at",
            "created_by",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        )
    }


def enable(*, session: Session, webhook_id: int) -> Webhook:
    """Enable a webhook again (after it was disabled for failing): its pending deliveries are
    due at once, each with a new retry window."""
    from app.models import WebhookDelivery

    webhook = get(session=session, webhook_id=webhook_id)
    now = clock.utcnow()
    webhook.disabled_at = webhook.disabled_reason = webhook.failing_since = None
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .values(next_attempt_at=now, retry_started_at=now)
    )
    session.flush()
    return webhook
