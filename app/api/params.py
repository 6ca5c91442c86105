"""Query parameters read into one Pydantic model per route.

FastAPI validates query parameters one by one, with introspection on every request; on the
action list (fifteen filters and five paging options) that cost more than the SQL. Here the
model is validated in one step, in the route body; errors still come out as FastAPI's
validation errors (and so as problem+json), and the OpenAPI document still lists every
parameter.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app.api.openapi_shapes import COMPONENTS_KEY, json_schema, reachable
from app.api.problems import located_errors

M = TypeVar("M", bound=BaseModel)


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


@cache
def _query_fields(model: type[BaseModel]) -> dict[str, bool]:
    """Parameter name -> whether it may repeat (a list field)."""
    return {
        field.alias or name: _is_list(field.annotation)
        for name, field in model.model_fields.items()
    }


def read_query(model: type[M], request: Request) -> M:
    """The query string read into `model` (repeated keys for list fields).

    Called in the route body rather than declared with Depends: a dependency costs FastAPI more
    to solve on every request than reading the parameters does."""
    fields = _query_fields(model)
    query = request.query_params
    data: dict[str, Any] = {}
    # Over the parameters given, not the model's fields: most requests give few or none.
    for key in query:
        many = fields.get(key)
        if many is not None:
            data[key] = query.getlist(key) if many else query[key]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(located_errors(exc, "query")) from None


def openapi_parameters(
    model: type[BaseModel], *, exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """`openapi_extra` for a route that reads `model` with `read_query`: its fields but those
    in `exclude` (still read, not advertised), their enums and models as components."""
    schema, definitions = json_schema(model)
    parameters = []
    for name, prop in schema["properties"].items():
        if name in exclude:
            continue
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    used = reachable(definitions, parameters)
    return {
        "parameters": parameters,
        COMPONENTS_KEY: {name: definitions[name] for name in sorted(used)},
    }
