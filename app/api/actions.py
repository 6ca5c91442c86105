from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api import links
from app.api.auth import AuthenticatedFirst, Editor
from app.api.deps import SessionDep
from app.api.etags import IfMatch, accepted_versions, etag
from app.api.openapi import ETAG, LINK, LOCATION, raises
from app.api.params import openapi_parameters, read_query
from app.api.responses import page_response
from app.db import DatabaseDep
from app.errors import Conflict, NotFound
from app.schemas.actions import (
    ActionCreate,
    ActionOut,
    ActionUpdate,
    BulkUpdate,
    CommentIn,
    DueDateRevisions,
    EventOut,
    TransitionIn,
)
from app.schemas.common import Day, IdPath, Page
from app.schemas.params import HistoryParams
from app.services import actions as service
from app.services import revisions

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)


def _with_etag(response: Response, action: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = etag(action_id=action["id"], version=action["version"])
    return action


@router.get(
    "/actions/{action_id:int}", response_model=ActionOut, responses={200: {"headers": ETAG}}
)
async def get_action(
    action_id: IdPath,
    response: Response,
    db: DatabaseDep,
    as_of: Annotated[
        Day | None, Query(description="Judge overdue as on this day (default: today).")
    ] = None,
) -> Any:
    """One action, with its finding, report and overdue state; `ETag` names its version."""
    action = await db.run_read(service.view, action_id=action_id, as_of=as_of)
    return _with_etag(response, action)


@router.post(
    "/actions",
    response_model=ActionOut,
    status_code=201,
    responses={201: {"headers": {**LOCATION, **ETAG}}},
)
def create_action(
    data: ActionCreate, request: Request, response: Response, session: SessionDep, actor: Editor
) -> Any:
    """Add an action to a finding (beyond those its import made); numbered after the last."""
    action = service.create_and_view(session=session, data=data, actor=actor)
    response.headers["Location"] = links.url_for(request, "get_action", action_id=action["id"])
    return _with_etag(response, action)


@router.patch(
    "/actions/{action_id:int}", response_model=ActionOut, responses={200: {"headers": ETAG}}
)
def update_action(
    action_id: IdPath,
    data: ActionUpdate,
    response: Response,
    session: SessionDep,
    actor: Editor,
    if_match: IfMatch = None,
) -> Any:
    """Change the fields sent (not the status: see transitions). With `If-Match`, only if the
    action is still at that version (412 otherwise)."""
    action = service.patch(
        session=session,
        action_id=action_id,
        data=data,
        actor=actor,
        expected_versions=accepted_versions(if_match=if_match, action_id=action_id),
    )
    return _with_etag(response, action)


@router.post(
    "/actions/bulk",
    response_model=Page[ActionOut],
    responses=raises(NotFound, status_404="Some ids are not actions (`missing`); none changed."),
)
def bulk_update_actions(data: BulkUpdate, session: SessionDep, actor: Editor) -> dict[str, Any]:
    """Set the same owner, due date or priority on many actions: all of them, or none."""
    return {"items": service.bulk_update_and_view(session=session, data=data, actor=actor)}


@router.post(
    "/actions/{action_id:int}/transitions",
    response_model=ActionOut,
    responses={
        200: {"headers": ETAG},
        **raises(
            Conflict,
            status_409="The step is not allowed from the action's status (`current_status`, "
            "`allowed`), or it needs evidence the action does not have.",
        ),
    },
)
def transition_action(
    action_id: IdPath,
    data: TransitionIn,
    response: Response,
    session: SessionDep,
    actor: Editor,
    if_match: IfMatch = None,
) -> Any:
    """Move the action to another status. Signing off (or refusing it) needs the approver
    role and someone other than whoever asked for it; some steps need a comment."""
    action = service.move(
        session=session,
        action_id=action_id,
        data=data,
        actor=actor,
        expected_versions=accepted_versions(if_match=if_match, action_id=action_id),
    )
    return _with_etag(response, action)


@router.get(
    "/actions/{action_id:int}/history",
    response_model=Page[EventOut],
    responses={200: {"headers": LINK}},
    openapi_extra=openapi_parameters(HistoryParams),
)
async def get_action_history(action_id: IdPath, request: Request, db: DatabaseDep) -> Response:
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
    return page_response(request, page)


@router.get("/actions/{action_id:int}/due-date-revisions", response_model=DueDateRevisions)
async def get_due_date_revisions(action_id: IdPath, db: DatabaseDep) -> Any:
    """Every revision of the action's due date, oldest first: from, to, the reason given, who
    made it and when (the first due date it was given is its `original_due_date`)."""
    return await db.run_read(revisions.listed, action_id=action_id)


@router.post("/actions/{action_id:int}/comments", response_model=EventOut, status_code=201)
def add_action_comment(
    action_id: IdPath, data: CommentIn, session: SessionDep, actor: Editor
) -> Any:
    """Add a comment to the action's history."""
    return service.comment_on(
        session=session, action_id=action_id, comment=data.comment, actor=actor
    )
