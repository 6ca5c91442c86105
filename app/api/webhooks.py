from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app import clock
from app.api import links
from app.api.auth import Admin, AuthenticatedFirst, require
from app.api.deps import SessionDep
from app.api.openapi import LINK, LOCATION, raises
from app.api.responses import page_response
from app.enums import Role
from app.errors import Conflict
from app.schemas.common import IdPath, Page, QueryInt
from app.schemas.webhooks import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
)
from app.services import deliveries, webhooks

router = APIRouter(
    prefix="/api/v1",
    tags=["webhooks"],
    route_class=AuthenticatedFirst,
    dependencies=[Depends(require(Role.ADMIN))],
)


@router.get("/webhooks", response_model=Page[WebhookOut])
def list_webhooks(session: SessionDep) -> dict[str, Any]:
    """Every webhook subscription (never its secret), disabled ones included."""
    return {"items": [webhooks.shown(hook) for hook in webhooks.listed(session=session)]}


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    responses={201: {"headers": LOCATION}},
)
def create_webhook(
    data: WebhookCreate, request: Request, response: Response, session: SessionDep, actor: Admin
) -> Any:
    """Subscribe `url` to the `events` listed (optionally only those of a report, an owner or
    a force). Deliveries are signed per Standard Webhooks with the `secret` in the answer,
    shown this once. Internal addresses are refused (422) unless AFI_WEBHOOK_ALLOW_PRIVATE."""
    hook = webhooks.create(session=session, data=data, actor=actor)
    response.headers["Location"] = links.url_for(request, "get_webhook", webhook_id=hook.id)
    return {**webhooks.shown(hook), "secret": hook.secret}


@router.get("/webhooks/{webhook_id:int}", response_model=WebhookOut)
def get_webhook(webhook_id: IdPath, session: SessionDep) -> Any:
    """One webhook subscription (never its secret)."""
    return webhooks.shown(webhooks.get(session=session, webhook_id=webhook_id))


@router.delete("/webhooks/{webhook_id:int}", status_code=204)
def delete_webhook(webhook_id: IdPath, session: SessionDep) -> Response:
    """Remove the subscription, with its deliveries and their log."""
    webhooks.remove(session=session, webhook_id=webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id:int}/enable", response_model=WebhookOut)
def enable_webhook(webhook_id: IdPath, session: SessionDep) -> Any:
    """Enable a webhook that was disabled for failing (or is enabled already): new events
    reach it again, and its pending deliveries are tried at once, with a new retry window."""
    return webhooks.shown(webhooks.enable(session=session, webhook_id=webhook_id))


@router.get(
    "/webhooks/{webhook_id:int}/deliveries",
    response_model=DeliveryPage,
    responses={200: {"headers": LINK}},
)
def list_webhook_deliveries(
    webhook_id: IdPath,
    request: Request,
    session: SessionDep,
    limit: QueryInt = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(
        default=None, max_length=1000, description="`next_cursor` of the previous page."
    ),
) -> Response:
    """The delivery log, newest first: each delivery's status, attempts (every one with its
    outcome, HTTP status, latency and error), and when the next is due."""
    webhooks.get(session=session, webhook_id=webhook_id)
    page = deliveries.page(db=session, webhook_id=webhook_id, limit=limit, cursor=cursor)
    return page_response(request, page)


@router.post(
    "/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/redeliver",
    response_model=DeliveryOut,
    status_code=202,
    responses=raises(Conflict, status_409="An attempt of this delivery is in flight."),
)
def redeliver_webhook_delivery(webhook_id: IdPath, delivery_id: IdPath, session: SessionDep) -> Any:
    """Send the delivery again, soon (the worker's next pass), with the same `webhook-id`,
    and retries for another AFI_WEBHOOK_RETRY_HOURS if it fails."""
    return deliveries.redeliver_and_view(
        session=session, webhook_id=webhook_id, delivery_id=delivery_id, now=clock.utcnow()
    )
