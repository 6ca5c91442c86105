from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api import links
from app.api.auth import AuthenticatedFirst, Editor
from app.api.deps import SessionDep
from app.api.openapi import LOCATION, raises
from app.errors import Conflict
from app.schemas.common import IdPath, Page
from app.schemas.owners import OwnerCreate, OwnerOut, OwnerUpdate, TeamFilter
from app.services import owners as service

router = APIRouter(prefix="/api/v1", tags=["owners"], route_class=AuthenticatedFirst)


@router.get("/owners", response_model=Page[OwnerOut])
def list_owners(
    session: SessionDep,
    team: Annotated[TeamFilter | None, Query(description="Only the owners of this team.")] = None,
) -> dict[str, Any]:
    """Owners (people actions are assigned to), by name."""
    return {"items": service.list_owners(session=session, team=team)}


@router.post(
    "/owners", response_model=OwnerOut, status_code=201, responses={201: {"headers": LOCATION}}
)
def create_owner(
    data: OwnerCreate, request: Request, response: Response, session: SessionDep, _: Editor
) -> Any:
    """Add an owner."""
    owner = service.create_owner(session=session, data=data)
    response.headers["Location"] = links.url_for(request, "get_owner", owner_id=owner.id)
    return owner


@router.get("/owners/{owner_id:int}", response_model=OwnerOut)
def get_owner(owner_id: IdPath, session: SessionDep) -> Any:
    """One owner."""
    return service.get_owner(session=session, owner_id=owner_id)


@router.patch("/owners/{owner_id:int}", response_model=OwnerOut)
def update_owner(owner_id: IdPath, data: OwnerUpdate, session: SessionDep, _: Editor) -> Any:
    """Change the fields sent; `null` clears email or team (a name cannot be removed)."""
    return service.update_owner(session=session, owner_id=owner_id, data=data)


@router.delete(
    "/owners/{owner_id:int}",
    status_code=204,
    responses=raises(Conflict, status_409="The owner still owns actions; reassign them first."),
)
def delete_owner(owner_id: IdPath, session: SessionDep, _: Editor) -> Response:
    """Delete an owner who owns no action."""
    service.delete_owner(session=session, owner_id=owner_id)
    return Response(status_code=204)
