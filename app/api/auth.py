"""Who is calling, and may they? Bearer tokens, cumulative roles, public reads if configured."""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from threading import Lock
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from app.db import Database, DatabaseDep, get_database
from app.enums import Role
from app.errors import Forbidden, TooManyRequests, Unauthorized
from app.principal import ANONYMOUS, Principal
from app.services import tokens
from app.settings import get_settings

logger = logging.getLogger("afi.auth")


class FailedAttempts:
    """Failed authentications per client address in a sliding window (per process)."""

    # Addresses remembered at most; past it, those with no recent failure are forgotten.
    MAX_CLIENTS = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}
        self._lock = Lock()

    def record(self, client: str, *, limit: int, window: float) -> float:
        """Count a failure; returns how long `client` must wait (0 while under `limit`)."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) >= self.MAX_CLIENTS:
                self._forget_quiet(now - window)
            attempts = self._seen.setdefault(client, deque())
            while attempts and attempts[0] <= now - window:
                attempts.popleft()
            attempts.append(now)
            if len(attempts) <= limit:
                return 0.0
            return attempts[-limit - 1] + window - now

    def _forget_quiet(self, since: float) -> None:
        for client in [c for c, attempts in self._seen.items() if attempts[-1] <= since]:
            del self._seen[client]


async def _authenticate(request: Request, db: Database, secret: str | None) -> Principal:
    if secret is None:
        return ANONYMOUS
    # A read of its own, not the request's session: a request that writes must not take
    # SQLite's write lock before it even starts (say, while its body is still arriving).
    found = await db.run_read(tokens.authenticate, secret=secret)
    if found is None:
        _refuse(request)
    if found.needs_use_recorded and found.principal.token_id is not None:
        await run_in_threadpool(_record_use, db, found.principal.token_id)
    return found.principal


def _refuse(request: Request) -> NoReturn:
    """401 for a bad token; 429 once an address keeps presenting bad tokens. A valid token is
    never refused for where it comes from, so one bad client cannot lock out its neighbours."""
    settings = get_settings()
    client = request.client.host if request.client else "unknown"
    failed_attempts: FailedAttempts = request.app.state.failed_attempts
    wait = failed_attempts.record(
        client, limit=settings.auth_failure_limit, window=settings.auth_failure_window_seconds
    )
    logger.warning(
        "failed authentication from %s on %s %s", client, request.method, request.url.path
    )
    if wait > 0:
        raise TooManyRequests(
            "Too many failed authentication attempts; try again later.",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    raise Unauthorized("The token is not valid.", error="invalid_token")


def _record_use(db: Database, token_id: int) -> None:
    """A unit of work of its own that never waits: "last used" is a hint, and a request must
    not wait behind another writer's lock to leave it (the next request records it)."""
    try:
        with db.unit_without_waiting() as session:
            tokens.record_use(session=session, token_id=token_id)
    except DBAPIError as error:
        # Busy, read-only, full, unreachable: a hint left unwritten must not fail the request
        # (a read works on a read-only database); the next request tries again.
        logger.info("did not record the use of token %s: %s", token_id, type(error.orig).__name__)


class BearerToken(HTTPBearer):
    """The API's security scheme (a bearer token, `HTTPBearer` in OpenAPI) as the dependency
    that answers who is calling, and with `readers_only`, refuses anyone who may not even read
    (anonymous callers, unless reads are public). One dependency where a chain of two would cost
    FastAPI a second one to solve on every request."""

    def __init__(self, *, readers_only: bool) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="HTTPBearer",
            description="An API token: `afi token create`.",
        )
        self.readers_only = readers_only

    async def __call__(self, request: Request, db: DatabaseDep) -> Principal:  # type: ignore[override]
        early: Principal | None = getattr(request.state, "principal", None)
        if early is not None:  # a write, authenticated before its body was read
            return early
        credentials = await super().__call__(request)
        secret = credentials.credentials if credentials else None
        principal = await _authenticate(request, db, secret)
        if self.readers_only and principal.role is None and not get_settings().public_read:
            _authentication_required()
        return principal


def _authentication_required() -> NoReturn:
    raise Unauthorized("Authentication is required: send 'Authorization: Bearer <token>'.")


# Every API route's caller: at least a viewer. The calendar feed's caller may also bring a
# token in the URL, so its header alone decides nothing yet.
get_principal = BearerToken(readers_only=True)
_header_caller = BearerToken(readers_only=False)


async def get_feed_principal(
    request: Request,
    db: DatabaseDep,
    principal: Annotated[Principal, Depends(_header_caller)],
    token: Annotated[
        str | None,
        Query(
            max_length=200,
            description="For calendar applications, which cannot send headers: a viewer token.",
        ),
    ] = None,
) -> Principal:
    # A token in the header wins; without one, the token in the URL, if any.
    if principal.role is not None or token is None:
        return principal
    principal = await _authenticate(request, db, token)
    # A URL ends up in logs and browser histories: only a read-only token may travel in one.
    if principal.role is not Role.VIEWER:
        raise Forbidden("A token in the URL must be a viewer token; make one for the calendar.")
    return principal


def _check_role(principal: Principal, role: Role) -> Principal:
    if principal.role is None:
        if role is Role.VIEWER and get_settings().public_read:
            return principal
        _authentication_required()
    if not principal.role.includes(role):
        raise Forbidden(f"This needs the {role} role; the token has the {principal.role} role.")
    return principal


def require(
    role: Role, source: Callable[..., Awaitable[Principal]] = get_principal
) -> Callable[[Principal], Awaitable[Principal]]:
    # A default rather than Annotated: the annotation must resolve outside this closure.
    # Async although it awaits nothing: a sync dependency would cost a hop to a worker thread.
    async def check(principal: Principal = Depends(source)) -> Principal:
        return _check_role(principal, role)

    check.required_role = role  # type: ignore[attr-defined]  # read by AuthenticatedFirst
    return check


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _required_role(dependant: Dependant) -> Role | None:
    """The highest role any of the route's dependencies requires (they are cumulative)."""
    roles: list[Role] = []
    pending = [dependant]
    while pending:
        current = pending.pop()
        role = getattr(current.call, "required_role", None)
        if isinstance(role, Role):
            roles.append(role)
        pending.extend(current.dependencies)
    order = list(Role)
    return max(roles, key=order.index) if roles else None


class AuthenticatedFirst(APIRoute):
    """A route whose writes authenticate and check the caller's role before FastAPI reads and
    parses their body: an anonymous or unauthorised caller gets its 401 or 403 without making
    the server parse megabytes of JSON first (FastAPI reads the body before it solves any
    dependency). The principal found is kept for the route's own dependencies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = _required_role(self.dependant)
        if role is None or not (self.methods or set()) & _BODY_METHODS:
            return handler

        async def authenticate_first(request: Request) -> Response:
            if request.method in _BODY_METHODS:
                request.state.principal = _check_role(await _caller(request), role)
            return await handler(request)

        return authenticate_first


async def _caller(request: Request) -> Principal:
    # The database as the route's dependencies would get it, overrides included.
    provider = request.app.dependency_overrides.get(get_database, get_database)
    found = provider()
    db: Database = await found if inspect.isawaitable(found) else found
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return await _authenticate(request, db, secret.strip() if scheme.lower() == "bearer" else None)


Editor = Annotated[Principal, Depends(require(Role.EDITOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
