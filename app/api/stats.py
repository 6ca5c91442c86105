"""Stats over actions: counts and figures per group, with the list's filters.

The route only parses parameters and calls one service function, which gives the answer as JSON
(the response_model documents the shape in OpenAPI): whole, or by report (many megabytes) the
chunks of a body written a part at a time, each made in a worker thread as a heavy read. The
answer is kept, and given again while no write has committed since (app.kept_reads).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.auth import AuthenticatedFirst
from app.api.kept_answers import KEPT_HEADERS, kept_json
from app.api.params import openapi_parameters, read_query
from app.db import DatabaseDep
from app.schemas.params import StatsParams
from app.schemas.stats import StatsOut
from app.services import stats

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)


@router.get(
    "/stats",
    response_model=StatsOut,
    responses={200: {"headers": KEPT_HEADERS}},
    openapi_extra=openapi_parameters(StatsParams),
)
async def get_action_stats(request: Request, db: DatabaseDep) -> Response:
    """Actions per group (same filters as the list): counts per status, total, overdue,
    share completed and the oldest overdue action; plus the totals over all groups."""
    params = read_query(StatsParams, request)
    # Every figure is read before this returns: a failure is still answered as a problem.
    return await kept_json(
        request,
        db,
        params,
        stats.answer_json,
        filters=params.to_filters(),
        group_by=params.group_by,
    )
