"""JSON answers built as plain dicts by the read services, serialised with orjson, or as models;
the Link to a listing's next page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.api import links


def json_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """`body` as JSON, timestamps in UTC written with a `Z`, as every other answer has them."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json", headers=headers
    )


def model_response(
    model: BaseModel, *, status_code: int, headers: dict[str, str] | None = None
) -> Response:
    """`model` as JSON, for routes whose answer's shape depends on how it went (the document
    gives each status its own, in the route's `responses=`)."""
    return Response(
        model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def page_response(request: Request, page: dict[str, Any]) -> Response:
    """A keyset page as JSON, with a `Link: rel="next"` header when there is a next page."""
    cursor = page["next_cursor"]
    return json_response(page, None if cursor is None else {"Link": next_link(request, cursor)})


def next_link(request: Request, cursor: str, *, param: str = "cursor") -> str:
    """A `Link: rel="next"` value: this request's URL with `cursor` in place of any it had (in
    the query parameter `param`). From the query already parsed: `include_query_params` would
    parse it again from the URL."""
    query = [(key, value) for key, value in request.query_params.multi_items() if key != param]
    query.append((param, cursor))
    return f'<{links.this_path(request, urlencode(query))}>; rel="next"'
