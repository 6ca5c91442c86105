"""Overdue summary for dashboards and CI, and due dates as a calendar feed."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.auth import AuthenticatedFirst
from app.api.deps import SessionDep
from app.api.kept_answers import KEPT_HEADERS, kept_json
from app.api.openapi import CONTENT_DISPOSITION, raises
from app.api.params import openapi_parameters, read_query
from app.db import DatabaseDep
from app.errors import Forbidden
from app.schemas.overdue import OverdueSummary
from app.schemas.params import FilterParams, OverdueParams
from app.services import calendar, overdue
from app.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["overdue"], route_class=AuthenticatedFirst)
calendar_router = APIRouter(prefix="/api/v1", tags=["overdue"])


@router.get(
    "/actions/overdue-summary",
    response_model=OverdueSummary,
    responses={200: {"headers": KEPT_HEADERS}},
    openapi_extra=openapi_parameters(OverdueParams),
)
async def get_overdue_summary(request: Request, db: DatabaseDep) -> Response:
    """Counts of overdue (and due-soon) actions among the open, in-progress and blocked ones,
    with the oldest overdue items. Same filters as the action list."""
    params = read_query(OverdueParams, request)
    return await kept_json(
        request,
        db,
        params,
        overdue.summary_json,
        filters=params.to_filters(),
        as_of=params.as_of,
        due_within=params.due_within,
    )


@calendar_router.get(
    "/calendar.ics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/calendar": {"schema": {"type": "string"}}},
            "description": "An iCalendar feed",
            "headers": CONTENT_DISPOSITION,
        },
        **raises(Forbidden, status_403="The token in the URL is not a viewer token."),
    },
    openapi_extra=openapi_parameters(FilterParams),
)
def get_calendar_feed(request: Request, session: SessionDep) -> Response:
    """Due dates as all-day events (RFC 5545), to subscribe to in a calendar application.
    Calendar applications cannot send headers, so this feed also takes `?token=`; use a
    viewer token made for the purpose."""
    params = read_query(FilterParams, request)
    body = calendar.feed(
        session=session,
        filters=params.to_filters(),
        base_url=get_settings().public_url,
        name="AFI Tracker due dates",
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="afi-due-dates.ics"'},
    )
