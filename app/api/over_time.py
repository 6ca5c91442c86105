"""Answers over time, rebuilt from the actions' states: the trend per month or quarter and the
changes between two days."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.auth import AuthenticatedFirst
from app.api.kept_answers import KEPT_HEADERS, kept_json
from app.api.openapi import LINK
from app.api.params import openapi_parameters, read_query
from app.api.responses import page_response
from app.db import DatabaseDep
from app.schemas.changes import ChangesOut
from app.schemas.history_params import ChangesParams, TrendParams
from app.schemas.trend import TrendOut
from app.services import changes, trend

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)


@router.get(
    "/stats/trend",
    response_model=TrendOut,
    responses={200: {"headers": KEPT_HEADERS}},
    openapi_extra=openapi_parameters(TrendParams),
)
async def get_stats_trend(request: Request, db: DatabaseDep) -> Response:
    """At the end of each month or quarter from `from` to `to` (the last period ends on `to`):
    the actions open and overdue as they stood then, and those completed and opened during
    the period; and the overdue ones at the end by age (days past due). Same filters as the
    list, judged on each action as it stood at each period end; at most 120 periods."""
    params = read_query(TrendParams, request)
    return await kept_json(
        request,
        db,
        params,
        trend.trend_json,
        filters=params.to_filters(),
        interval=params.interval,
        start=params.from_,
        end=params.to,
    )


@router.get(
    "/changes",
    response_model=ChangesOut,
    responses={200: {"description": "A page of changes.", "headers": LINK}},
    openapi_extra=openapi_parameters(ChangesParams),
)
async def list_changes(request: Request, db: DatabaseDep) -> Response:
    """What changed from the start of `since` to the end of `until`, oldest first: status moves
    (`status_changed`), moves to pending sign-off (`proposed_for_closure`), revised due dates,
    RAG changes, and actions that became overdue (`newly_overdue`). Same filters as the list,
    judged on each action as it stood at the end of `until`. A window of at most 366 days
    (default: the 90 days before `until`, itself today by default), a page at a time (keyset:
    follow `next_cursor` or the `Link: rel="next"` header; a cursor keeps its window)."""
    params = read_query(ChangesParams, request)
    answer = await db.run_heavy_read(
        changes.changes,
        filters=params.to_filters(),
        since=params.since,
        until=params.until,
        limit=params.limit,
        cursor=params.cursor,
    )
    return page_response(request, answer.model_dump(mode="json", by_alias=True))
