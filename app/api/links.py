"""URLs the service hands out (Location, Link, the calendar's links).

Built from AFI_PUBLIC_URL, never from the request's Host header, which the client chooses.
Without it they are relative references (RFC 9110 allows one in Location, RFC 8288 in Link),
below the root the service is served from.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from app.api.route_table import route_path
from app.settings import get_settings


def reference(request: Request, path: str, query: str = "") -> str:
    """`path` (below the service's root) and `query` as a URL a client can follow."""
    base = get_settings().public_url
    prefix = base if base is not None else request.scope.get("root_path", "")
    return f"{prefix}{path}?{query}" if query else f"{prefix}{path}"


def url_for(request: Request, name: str, /, **path_params: Any) -> str:
    """The URL of the route called `name` with these parameters."""
    return reference(request, str(request.app.url_path_for(name, **path_params)))


def this_path(request: Request, query: str = "") -> str:
    """The URL of this request's path, with `query` in place of its own."""
    return reference(request, route_path(request.scope), query)
