from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from app.api import links
from app.api.auth import AuthenticatedFirst, Editor
from app.api.deps import SessionDep
from app.api.params import openapi_parameters, read_query
from app.api.responses import json_response, next_link
from app.db import DatabaseDep
from app.schemas.actions import (
    ActionCreate,
    ActionOut,
    ActionUpdate,
    BulkUpdate,
    CommentIn,
    EventOut,
    TransitionIn,
)
from app.schemas.common import Day, IdPath, Page, Problem
from app.schemas.query_params import HistoryParams
from app.services import actions as service

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)

IfMatch = Annotated[str | None, Header(description="ETag from a previous read; 412 if stale")]


def _with_etag(response: Response, action: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = service.etag(action_id=action["id"], version=action["version"])
    return action


@router.get("/actions/{action_id:int}", response_model=ActionOut)
async def get_action(
    action_id: IdPath,
    response: Response,
    db: DatabaseDep,
    as_of: Annotated[Day | None, Query()] = None,
) -> Any:
    action = await db.run_read(service.view, action_id=action_id, as_of=as_of)
    return _with_etag(response, action)


@router.post("/actions", response_model=ActionOut, status_code=201)
def create_action(
    data: ActionCreate, request: Request, response: Response, session: SessionDep, actor: Editor
) -> Any:
    action = service.create_and_view(session=session, data=data, actor=actor)
    response.headers["Location"] = links.url_for(request, "get_action", action_id=action["id"])
    return _with_etag(response, action)


@router.patch("/actions/{action_id:int}", response_model=ActionOut)
def update_action(
    action_id: IdPath,
    data: ActionUpdate,
    response: Response,
    session: SessionDep,
    actor: Editor,
    if_match: IfMatch = None,
) -> Any:
    action = service.patch(
        session=session, action_id=action_id, data=data, actor=actor, if_match=if_match
    )
    return _with_etag(response, action)


@router.post("/actions/bulk", response_model=Page[ActionOut])
def bulk_update(data: BulkUpdate, session: SessionDep, actor: Editor) -> dict[str, Any]:
    return {"items": service.bulk_update_and_view(session=session, data=data, actor=actor)}


@router.post("/actions/{action_id:int}/transitions", response_model=ActionOut)
def transition(
    action_id: IdPath,
    data: TransitionIn,
    response: Response,
    session: SessionDep,
    actor: Editor,
    if_match: IfMatch = None,
) -> Any:
    action = service.move(
        session=session, action_id=action_id, data=data, actor=actor, if_match=if_match
    )
    return _with_etag(response, action)


@router.get(
    "/actions/{action_id:int}/history",
    response_model=Page[EventOut],
    responses={
        404: {"model": Problem, "description": "No such action."},
        422: {"model": Problem, "description": "A parameter is invalid; `errors` names it."},
    },
    openapi_extra=openapi_parameters(HistoryParams),
)
async def get_history(action_id: IdPath, request: Request, db: DatabaseDep) -> Response:
    """The action's events, a page at a time (keyset: follow `next_cursor` or the
    `Link: rel="next"` header); `sort=-id` for newest first."""
    params = read_query(HistoryParams, request)
    page = await db.run_read(
        service.events,
        action_id=action_id,
        sort=params.sort,
        limit=params.limit,
        cursor=params.cursor,
    )
    headers = None
    if page["next_cursor"] is not None:
        headers = {"Link": next_link(request, page["next_cursor"])}
    return json_response(page, headers)


@router.post("/actions/{action_id:int}/comments", response_model=EventOut, status_code=201)
def add_comment(action_id: IdPath, data: CommentIn, session: SessionDep, actor: Editor) -> Any:
    return service.comment_on(
        session=session, action_id=action_id, comment=data.comment, actor=actor
    )
