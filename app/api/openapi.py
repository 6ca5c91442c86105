"""The OpenAPI document, made to tell the truth about errors, limits and headers.

FastAPI documents what a route's signature says: its parameters, body and success answer, and
a 422 in its own shape. The rest is derived here, once, from each route:

- the problem responses it can send, all `application/problem+json` with a schema of
  `app.schemas.problems` named by the error class (`app.errors`): 401 and 429 when it
  authenticates, 403 when it needs more than the viewer role, 404 with an id in its path, 422
  with parameters or a body, 400, 413 and 415 with a body, 409 on writes (a change made at the
  same time), 412 with `If-Match`, 500 and 503 everywhere; plus what the route declares with
  `responses=raises(...)` for errors its service raises beyond those;
- `Retry-After` and `WWW-Authenticate` on the problems that carry them;
- the status workflow (`app.services.workflow.ALLOWED`) in the transitions operation;
- operationIds from the routes' names (`operation_id`), every tag defined (`TAGS`), servers,
  licence and contact; `security: []` on the operations that need no token;
- the shapes of `app.api.openapi_shapes`: components rather than copies, no `null` parameter,
  answers with every property required, enum members named (`x-enum-varnames`): the
  statuses a problem schema answers with by their HTTP names (`PRECONDITION_FAILED`).
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from app.api import openapi_shapes
from app.api.auth import BearerToken
from app.api.auth import _required_role as required_role
from app.enums import Role
from app.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from app.schemas.problems import PROBLEM_SCHEMAS
from app.services.workflow import ALLOWED
from app.settings import get_settings

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Every tag an operation may have, with what its operations are about (a route with another tag
# fails tests/test_openapi_contract.py).
TAGS: tuple[dict[str, str], ...] = (
    {"name": "actions", "description": "Actions: read, filter, change, move through the workflow."},
    {"name": "evidence", "description": "Notes, links and files that show an action was done."},
    {"name": "reports", "description": "Inspection reports and their findings; importing them."},
    {"name": "overdue", "description": "Overdue actions: a summary and a calendar feed."},
    {"name": "owners", "description": "The people actions are assigned to."},
    {
        "name": "pack",
        "description": "The committee pack: the items, changes and figures of a selection.",
    },
    {"name": "tokens", "description": "API tokens (admins only)."},
    {
        "name": "events",
        "description": "The feed of public events (oldest first), to follow changes.",
    },
    {
        "name": "webhooks",
        "description": "Signed deliveries of events to other systems (admins only).",
    },
    {"name": "health", "description": "Whether the process is up and its database ready."},
)
LICENSE = {"name": "MIT", "identifier": "MIT"}
CONTACT = {"name": "AFI Tracker maintainers"}
DESCRIPTION = (
    "Follow up inspection findings (areas for improvement, causes of concern, "
    "recommendations): owners, status, due dates and evidence. Every error is "
    "`application/problem+json` (RFC 9457). Every call but `/health` and `/ready` needs a token "
    "(`Authorization: Bearer ...`)."
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REF = "#/components/schemas/"

# Success headers, for routes' `responses=`.
LOCATION = {
    "Location": {
        "description": "The URL of what was created.",
        "required": True,
        "schema": {"type": "string"},
    }
}
ETAG = {
    "ETag": {
        "description": "The action's version, for `If-Match` on its next change.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+-[0-9]+"$'},
    }
}
LINK = {
    "Link": {
        "description": 'The next page (`rel="next"`), when there is one.',
        "schema": {"type": "string"},
    }
}
CONTENT_DISPOSITION = {
    "Content-Disposition": {
        "description": "The file name to save it as.",
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string"},
    }
}
_PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with (`Bearer`).",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}
# Problems no error class stands for: FastAPI's and Starlette's, and the unexpected.
_OTHER_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("ValidationProblem", "The body is not valid JSON, or not a readable form."),
    500: ("Problem", "An unexpected error; it has been logged."),
}


def operation_id(route: APIRoute) -> str:
    """An operation's id: its route's name (the function's) in camelCase, `listActions`."""
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def _problem_classes() -> Iterator[type[AppError]]:
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop(0)
        yield cls
        pending.extend(cls.__subclasses__())


def problem_statuses() -> dict[int, tuple[str, str]]:
    """Status -> (problem schema, what it means), from the error classes (the first one of
    each status in the hierarchy speaks for it) and the few problems no class stands for."""
    statuses = dict(_OTHER_PROBLEMS)
    for cls in _problem_classes():
        if cls is not AppError:
            statuses.setdefault(cls.status_code, (cls.problem_schema, cls.meaning))
    return statuses


def raises(*errors: type[AppError], **meanings: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for errors a route's service raises that its kind of route does not imply
    (see the module's docstring); `meanings` (`status_409=...`) says more than the class."""
    return {
        error.status_code: {
            "description": meanings.get(f"status_{error.status_code}", error.meaning)
        }
        for error in errors
    }


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    pending = [dependant]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(current.dependencies)


def _authenticates(route: RouteContext) -> bool:
    return any(isinstance(d.call, BearerToken) for d in _walk(route.dependant))


def derived_problems(route: RouteContext, operation: dict[str, Any]) -> set[int]:
    """The problem statuses `route` can answer, from what it is (see the module's docstring)."""
    statuses = {500, ServiceUnavailable.status_code}
    methods = route.methods or set()
    if _authenticates(route):
        statuses |= {Unauthorized.status_code, TooManyRequests.status_code}
        role = required_role(route.dependant)
        if role is not None and role is not Role.VIEWER:
            statuses.add(Forbidden.status_code)
    if ":int}" in (route.path or ""):
        statuses.add(NotFound.status_code)
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    if parameters or has_body:
        statuses.add(InvalidInput.status_code)
    if has_body:
        statuses |= {400, PayloadTooLarge.status_code, UnsupportedMediaType.status_code}
    if methods & _WRITES:
        statuses.add(Conflict.status_code)
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
        statuses.add(PreconditionFailed.status_code)
    return statuses


def _problem_response(status: int, description: str | None) -> dict[str, Any]:
    schema, meaning = problem_statuses()[status]
    response: dict[str, Any] = {
        "description": description or meaning,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"{_REF}{schema}"}}},
    }
    if status in _PROBLEM_HEADERS:
        response["headers"] = _PROBLEM_HEADERS[status]
    return response


def _document_problems(route: RouteContext, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(declared | derived_problems(route, operation)):
        given = responses.get(str(status), {}).get("description")
        # FastAPI's own description of its 422 says nothing about this service.
        if given in (None, "Validation Error", "Successful Response"):
            given = None
        responses[str(status)] = _problem_response(status, given)
    operation["responses"] = dict(sorted(responses.items()))


def workflow_table() -> str:
    """ALLOWED as a Markdown table: each status and the statuses it may move to."""
    rows = [
        f"| `{current}` | {', '.join(f'`{to}`' for to in steps)} |"
        for current, steps in ALLOWED.items()
    ]
    return "\n".join(["| From | May move to |", "| --- | --- |", *rows])


def _document_workflow(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/actions/{action_id}/transitions"]["post"]
    operation["description"] = (
        f"{operation.get('description', '').rstrip()}\n\nThe steps allowed from each status "
        f"(any other is a 409 naming the allowed ones):\n\n{workflow_table()}\n"
    )
    schema["components"]["schemas"]["TransitionIn"]["properties"]["to"] = {
        "$ref": f"{_REF}ActionStatus",
        "description": "The status to move to: one the action's current status allows "
        "(see the table in the operation's description).",
    }


def _document_service(app: FastAPI, schema: dict[str, Any]) -> None:
    info = schema["info"]
    info.setdefault("description", DESCRIPTION)
    info.setdefault("license", LICENSE)
    info.setdefault("contact", CONTACT)
    public_url = get_settings().public_url
    # Relative to where the document is served when no public address is set.
    schema.setdefault("servers", [{"url": str(public_url) if public_url else "/"}])
    schema["tags"] = [dict(tag) for tag in TAGS]
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and not _authenticates(route):
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    operation.setdefault("security", [])


def _components(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for model in PROBLEM_SCHEMAS:
        model_schema = model.model_json_schema(
            by_alias=True, ref_template=_REF + "{model}", mode="serialization"
        )
        for name, definition in model_schema.pop("$defs", {}).items():
            components[name] = definition
        components[model.__name__] = model_schema
    # Each problem schema's `status` is the statuses it answers with, so that a client tells
    # them apart by `status` (TypeScript narrows `error` on `error.status === 412`).
    statuses: dict[str, list[int]] = {}
    for status, (name, _) in sorted(problem_statuses().items()):
        statuses.setdefault(name, []).append(status)
    for name, codes in statuses.items():
        components[name]["properties"]["status"] = (
            {"type": "integer", "const": codes[0]}
            if len(codes) == 1
            else {
                "type": "integer",
                "enum": codes,
                openapi_shapes.ENUM_VARNAMES: [HTTPStatus(code).name for code in codes],
            }
        )
    schema["components"]["schemas"] = dict(sorted(components.items()))


def complete(app: FastAPI, schema: dict[str, Any]) -> None:
    """FastAPI's document for `app`, completed in place (see the module's docstring)."""
    operations = {
        (path, method): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = operations.get((route.path_format, method.lower()))
            if operation is not None:
                _document_problems(route, operation)
    _components(schema)
    openapi_shapes.hoist(schema)
    _document_workflow(schema)
    _document_service(app, schema)
    openapi_shapes.parameters_without_null(schema)
    openapi_shapes.answers_are_complete(schema)
    openapi_shapes.generic_names(schema)
    openapi_shapes.enum_varnames(schema)
    openapi_shapes.no_made_up_titles(schema)
    schema["components"]["schemas"] = dict(sorted(schema["components"]["schemas"].items()))


def install(app: FastAPI) -> None:
    """`app.openapi()` (and /openapi.json) serve FastAPI's document completed here. FastAPI
    builds it once (again if routes are added); it is completed once each time."""
    fastapi_openapi = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = fastapi_openapi()
        if not completed or completed[0] is not schema:
            complete(app, schema)
            completed[:] = [schema]
        return schema

    setattr(app, "openapi", openapi)  # noqa: B010  # FastAPI's documented way to replace it
