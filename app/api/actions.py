from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import clock
from app.api.deps import SessionDep
from app.enums import ActionStatus
from app.schemas.actions import ActionOut
from app.schemas.common import Page
from app.services import actions_query

router = APIRouter(prefix="/api/v1", tags=["actions"])


@router.get("/actions", response_model=Page[ActionOut])
def list_actions(
    session: SessionDep,
    status: Annotated[list[ActionStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    as_of: date | None = None,
) -> dict[str, Any]:
    items = actions_query.list_actions(
        session=session, as_of=as_of or clock.today(), statuses=status or (), limit=limit
    )
    return {"items": items}
