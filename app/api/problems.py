"""Every error leaves the service as RFC 9457 problem details; this module says how."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import db_faults
from app.api.etags import etag
from app.api.route_table import allow_header
from app.errors import (
    AppError,
    Conflict,
    InsufficientStorage,
    InvalidInput,
    PreconditionFailed,
    StaleVersion,
    UnsupportedMediaType,
)
from app.services import storage

logger = logging.getLogger("afi.errors")
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": f"urn:afi:problem:{type_slug}" if type_slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def located_errors(exc: ValidationError, *location: str) -> list[dict[str, Any]]:
    """A Pydantic model's errors as a RequestValidationError wants them: each `loc` starting
    where the model's input was found (("query",), ("body", "file"), ...)."""
    return [
        {**error, "loc": (*location, *error["loc"])}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        errors.append(
            {
                "field": ".".join(location[1:]) or location[0] if location else "",
                "in": location[0] if location else "body",
                "message": error.get("msg", "invalid"),
                "type": error.get("type", "value_error"),
            }
        )
    return errors


def _problem_for(exc: AppError) -> ProblemResponse:
    return problem(
        exc.status_code,
        title=exc.title,
        detail=exc.detail,
        type_slug=exc.type_slug,
        headers=exc.headers,
        **exc.extra,
    )


async def _app_error(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, AppError)
    return _problem_for(exc)


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(error["type"] == "json_invalid" for error in errors):
        return problem(
            400,
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
            type_slug="malformed-json",
            errors=errors,
        )
    if isinstance(exc.body, bytes):
        # FastAPI reads a body it was not told is JSON as bytes, which no model accepts.
        content_type = request.headers.get("content-type") or "no content type"
        return _problem_for(
            UnsupportedMediaType(f"Send the body as application/json, not {content_type!r}.")
        )
    names = ", ".join(sorted({error["field"] for error in errors}))
    return _problem_for(InvalidInput(f"Invalid value for: {names}", errors=errors))


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        # Starlette names the methods of the first route of the path; Allow lists them all.
        headers = {**(headers or {}), "Allow": allow_header(request.scope)}
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 413:
        return problem(
            413,
            title="Payload too large",
            detail=detail,
            type_slug="payload-too-large",
            headers=headers,
        )
    return problem(exc.status_code, detail=detail, headers=headers)


async def _stale_version(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StaleVersion)
    current = etag(action_id=exc.action_id, version=exc.version)
    return _problem_for(
        PreconditionFailed(
            f"Action {exc.reference} has changed since you read it (now {current}); "
            "fetch it again and re-apply your change.",
            current_etag=current,
        )
    )


async def _concurrent_change(request: Request, exc: Exception) -> ProblemResponse:
    # Another request changed the row between our read and our write. With If-Match the
    # client asked for exactly this check (412); without it, it is a plain conflict (409).
    if request.headers.get("if-match"):
        return _problem_for(
            PreconditionFailed(
                "The item was changed by another request at the same time; read it again."
            )
        )
    return _problem_for(
        Conflict("The item was changed by another request at the same time; read it and retry.")
    )


async def _integrity_error(request: Request, exc: Exception) -> ProblemResponse:
    # The unique and foreign-key constraints are the last line against races between
    # requests (two imports of one new report, two extra actions numbered at once).
    logger.warning("constraint refused %s %s: %s", request.method, request.url.path, exc)
    return _problem_for(
        Conflict("The change conflicts with one made at the same time; read the data and retry.")
    )


async def _database_error(request: Request, exc: Exception) -> ProblemResponse:
    # The database's state (unreachable, read-only, full, slow, busy) is no crash: a 503 whose
    # type names the cause, logged once per incident rather than once per request.
    assert isinstance(exc, DBAPIError)
    fault = db_faults.classify(exc)
    if fault is None:
        return await _unexpected_error(request, exc)
    db_faults.incidents.failed(fault, exc)
    return _problem_for(fault.error())


async def _pool_exhausted(request: Request, exc: Exception) -> ProblemResponse:
    logger.warning("no database connection free for %s %s", request.method, request.url.path)
    return problem(
        503,
        detail="The service is busy; retry shortly.",
        type_slug="busy",
        headers={"Retry-After": "1"},
    )


async def _client_gone(request: Request, exc: Exception) -> ProblemResponse:
    # Nobody is left to read this answer; it exists so the error is not logged as a crash.
    logger.info("client went away during %s %s", request.method, request.url.path)
    return problem(400, detail="The client closed the connection before the request ended.")


async def _unexpected_error(request: Request, exc: Exception) -> ProblemResponse:
    if isinstance(exc, OSError) and exc.errno in storage.NO_SPACE:
        # A full disk wherever a file was written (a spooled upload, say): nothing was stored.
        logger.warning("no space left on %s %s: %s", request.method, request.url.path, exc)
        return _problem_for(InsufficientStorage("There is no space left to store the request."))
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        detail="An unexpected error occurred; it has been logged.",
        # The request may have left the connection in any state: the client opens a new one.
        headers={"Connection": "close"},
    )


class UnexpectedErrorMiddleware:
    """A bug becomes a 500 problem response here, and goes no further.

    Starlette answers an unhandled exception itself and then raises it again to the server,
    which logs it a second time and drops the keep-alive connection without a word: the
    client's next request on it fails too. Answered here, the server sees a finished response
    (with `Connection: close`) and closes the connection properly. An error after the response
    has started cannot be answered any more; the server is left to end the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = await _unexpected_error(Request(scope), exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StaleVersion, _stale_version)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StaleDataError, _concurrent_change)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(SATimeoutError, _pool_exhausted)
    # A backstop for errors raised outside UnexpectedErrorMiddleware (in the middleware added
    # after it).
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(UnexpectedErrorMiddleware)
