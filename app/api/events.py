from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.auth import AuthenticatedFirst
from app.api.openapi import LINK
from app.api.params import openapi_parameters, read_query
from app.api.responses import json_response, next_link
from app.db import DatabaseDep
from app.schemas.events import EventFeedPage, EventFeedParams
from app.services import event_feed

router = APIRouter(prefix="/api/v1", tags=["events"], route_class=AuthenticatedFirst)


@router.get(
    "/events",
    response_model=EventFeedPage,
    responses={200: {"headers": LINK}},
    openapi_extra=openapi_parameters(EventFeedParams),
)
async def list_events(request: Request, db: DatabaseDep) -> Response:
    """The event feed, oldest first: follow changes without webhooks. Read on with
    `after=<next_cursor>` (`Link: rel="next"` while `has_more`); at the end, ask again later
    with the same cursor. Events appear once the worker has taken them in (within
    AFI_WORKER_POLL_SECONDS while it runs)."""
    params = read_query(EventFeedParams, request)
    page = await db.run_read(
        event_feed.page,
        after=params.after,
        types=tuple(dict.fromkeys(params.type)),
        limit=params.limit,
    )
    cursor = page["next_cursor"]
    link = next_link(request, cursor, param="after") if page["has_more"] else None
    return json_response(page, None if link is None else {"Link": link})
