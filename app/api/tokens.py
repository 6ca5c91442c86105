from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from app.api import links
from app.api.auth import Admin, AuthenticatedFirst, require
from app.api.deps import SessionDep
from app.api.openapi import LOCATION, raises
from app.enums import Role
from app.errors import Conflict
from app.schemas.common import IdPath, Page
from app.schemas.tokens import TokenCreate, TokenCreated, TokenOut
from app.services import tokens as service

router = APIRouter(
    prefix="/api/v1",
    tags=["tokens"],
    route_class=AuthenticatedFirst,
    dependencies=[Depends(require(Role.ADMIN))],
)


@router.get("/tokens", response_model=Page[TokenOut])
def list_tokens(session: SessionDep) -> dict[str, Any]:
    """Every API token (never its secret), revoked ones included."""
    return {"items": service.list_tokens(session=session)}


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses={
        201: {"headers": LOCATION},
        **raises(Conflict, status_409="A token with that name already exists."),
    },
)
def create_token(
    data: TokenCreate, request: Request, response: Response, session: SessionDep, actor: Admin
) -> Any:
    """A token for `user` (default: the user named like the token); the admin who makes it
    is recorded in `created_by`. The secret is in the answer, this once."""
    token, secret = service.create_token(
        session=session,
        name=data.name,
        role=data.role,
        user=data.user,
        created_by=actor.user or actor.label,
        owner_id=data.owner_id,
        expires_in_days=data.expires_in_days,
    )
    response.headers["Location"] = links.url_for(request, "get_token", token_id=token.id)
    return TokenCreated.model_validate(
        {**TokenOut.model_validate(token).model_dump(), "token": secret}
    )


@router.get("/tokens/{token_id:int}", response_model=TokenOut)
def get_token(token_id: IdPath, session: SessionDep) -> Any:
    """One token (never its secret)."""
    return service.get_token(session=session, token_id=token_id)


@router.delete("/tokens/{token_id:int}", status_code=204)
def revoke_token(token_id: IdPath, session: SessionDep) -> Response:
    """Revoke a token: it is refused from now on."""
    service.revoke_token(session=session, token_id=token_id)
    return Response(status_code=204)
