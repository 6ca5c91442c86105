from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from app.api import links
from app.api.auth import Editor
from app.api.deps import SessionDep
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
from app.schemas.common import Day, IdPath, Page
from app.services import actions as service

router = APIRouter(prefix="/api/v1", tags=["actions"])

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


@router.get("/actions/{action_id:int}/history", response_model=Page[EventOut])
def get_history(action_id: IdPath, session: SessionDep) -> dict[str, Any]:
    return {"items": service.events(session=session, action_id=action_id)}


@router.post("/actions/{action_id:int}/comments", response_model=EventOut, status_code=201)
def add_comment(action_id: IdPath, data: CommentIn, session: SessionDep, actor: Editor) -> Any:
    return service.comment_on(
        session=session, action_id=action_id, comment=data.comment, actor=actor
    )
