"""Stats over actions: counts and figures per group, with the list's filters.

The route only parses parameters and calls one service function; the answer is built as a plain
dict and serialised with orjson (the response_model documents the shape in OpenAPI).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.auth import AuthenticatedFirst
from app.api.params import openapi_parameters, read_query
from app.api.responses import json_response
from app.db import DatabaseDep
from app.schemas.params import StatsParams
from app.schemas.stats import StatsOut
from app.services import stats

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)


@router.get(
    "/stats",
    response_model=StatsOut,
    openapi_extra=openapi_parameters(StatsParams),
)
async def get_action_stats(request: Request, db: DatabaseDep) -> Response:
    """Actions per group (same filters as the list): counts per status, total, overdue,
    share completed and the oldest overdue action; plus the totals over all groups."""
    params = read_query(StatsParams, request)
    body = await db.run_heavy_read(
        stats.action_stats, filters=params.to_filters(), group_by=params.group_by
    )
    return json_response(body)
