from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api import links
from app.api.auth import AuthenticatedFirst, Editor
from app.api.deps import SessionDep
from app.schemas.common import IdPath, Page
from app.schemas.owners import OwnerCreate, OwnerOut, OwnerUpdate, TeamFilter
from app.services import owners as service

router = APIRouter(prefix="/api/v1", tags=["owners"], route_class=AuthenticatedFirst)


@router.get("/owners", response_model=Page[OwnerOut])
def list_owners(
    session: SessionDep, team: Annotated[TeamFilter | None, Query()] = None
) -> dict[str, Any]:
    return {"items": service.list_owners(session=session, team=team)}


@router.post("/owners", response_model=OwnerOut, status_code=201)
def create_owner(
    data: OwnerCreate, request: Request, response: Response, session: SessionDep, _: Editor
) -> Any:
    owner = service.create_owner(session=session, data=data)
    response.headers["Location"] = links.url_for(request, "get_owner", owner_id=owner.id)
    return owner


@router.get("/owners/{owner_id:int}", response_model=OwnerOut)
def get_owner(owner_id: IdPath, session: SessionDep) -> Any:
    return service.get_owner(session=session, owner_id=owner_id)


@router.patch("/owners/{owner_id:int}", response_model=OwnerOut)
def update_owner(owner_id: IdPath, data: OwnerUpdate, session: SessionDep, _: Editor) -> Any:
    return service.update_owner(session=session, owner_id=owner_id, data=data)


@router.delete("/owners/{owner_id:int}", status_code=204)
def delete_owner(owner_id: IdPath, session: SessionDep, _: Editor) -> Response:
    service.delete_owner(session=session, owner_id=owner_id)
    return Response(status_code=204)
