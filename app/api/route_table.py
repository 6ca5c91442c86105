"""What the route table says about a path, for the answers no route gives itself.

Ids in paths are integers at routing (`{action_id:int}`), so a fixed path such as
`/actions/bulk` is never read as an id. From the table of routes:

- OPTIONS is answered 204 with `Allow`, the methods of every route of the path (+ HEAD with GET);
- HEAD is served by the GET route, without its body (FastAPI routes do not take HEAD);
- a 405 lists the same `Allow` (app.api.problems asks `allow_header`);
- a path that no route took but that is a route's with something else than an id where the id
  goes (`/actions/abc`) is a 422 naming the parameter, like any other invalid input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.schemas.common import IdPath

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_INT_PARAM = re.compile(r"\{(\w+):int\}")
_ID = TypeAdapter(IdPath)


def route_path(scope: Scope) -> str:
    """The request's path below the root the service is served from (`root_path`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def _http_routes(scope: Scope) -> Iterator[Any]:
    for route in iter_route_contexts(scope["app"].routes):
        if route.methods and route.path:
            yield route


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route takes on the request's path (none: no route has the path)."""
    path = route_path(scope)
    methods: set[str] = set()
    for route in _http_routes(scope):
        if route.path_regex.match(path):
            methods |= route.methods
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    rank = {method: index for index, method in enumerate(METHOD_ORDER)}
    return sorted(methods, key=lambda method: (rank.get(method, len(rank)), method))


def allow_header(scope: Scope) -> str:
    return ", ".join(allowed_methods(scope))


@lru_cache(maxsize=256)
def _with_any_id(path: str) -> tuple[re.Pattern[str], frozenset[str]] | None:
    """`path` matching anything where it has an integer id; None if it has none."""
    ids = frozenset(_INT_PARAM.findall(path))
    if not ids:
        return None
    regex, _format, _convertors = compile_path(_INT_PARAM.sub(r"{\1}", path))
    return regex, ids


def _id_errors(name: str, value: str) -> list[dict[str, Any]]:
    try:
        _ID.validate_strings(value, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        return [{**error, "loc": ("path", name, *error["loc"])} for error in errors]
    # A number, but not in digits alone ("+1", "1.0"): one id has one spelling.
    return [
        {
            "type": "int_parsing",
            "loc": ("path", name),
            "msg": "Input should be a valid integer, written in digits only",
        }
    ]


def invalid_ids(scope: Scope) -> list[dict[str, Any]]:
    """Errors as RequestValidationError wants them, when the path is a route's but for an id
    that is not one; empty otherwise."""
    path = route_path(scope)
    for route in _http_routes(scope):
        loose = _with_any_id(route.path)
        if loose is None or (match := loose[0].match(path)) is None:
            continue
        errors = []
        for name, value in match.groupdict().items():
            if name in loose[1] and not (value.isascii() and value.isdigit()):
                errors.extend(_id_errors(name, value))
        if errors:
            return errors
    return []


def _unmatched(fallback: ASGIApp) -> ASGIApp:
    async def unmatched(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (errors := invalid_ids(scope)):
            raise RequestValidationError(errors)
        await fallback(scope, receive, send)  # Starlette's 404

    return unmatched


def _bodiless(send: Send) -> Send:
    """`send` for a HEAD request: the GET answer's status and headers, its body left out."""
    finished = False

    async def send_head(message: Message) -> None:
        nonlocal finished
        if message["type"] == "http.response.body":
            if finished:
                return
            finished = True
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_head


class MethodsMiddleware:
    """OPTIONS and HEAD for every route, from the route table (pre-flight requests are the
    CORS middleware's, outside this one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "OPTIONS" and (methods := allowed_methods(scope)):
                response = Response(status_code=204, headers={"Allow": ", ".join(methods)})
                await response(scope, receive, send)
                return
            if scope["method"] == "HEAD":
                await self.app({**scope, "method": "GET"}, receive, _bodiless(send))
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Paths no route took go through `invalid_ids` before they are a 404."""
    fallback: Callable[[Scope, Receive, Send], Any] = app.router.default
    app.router.default = _unmatched(fallback)
