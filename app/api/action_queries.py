"""Read-only queries over actions: the filtered list (JSON or CSV) and stats.

The routes only parse parameters and call one service function; answers are built as plain
dicts and serialised with orjson (the response_model documents the shape in OpenAPI).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.api.deps import SessionDep
from app.db import SessionLocal
from app.enums import ActionStatus, FindingKind, Priority
from app.schemas.actions import ActionOut
from app.schemas.common import Page, Problem
from app.schemas.queries import (
    ActionFilters,
    ActionSort,
    OutputFormat,
    StatsGroupBy,
    StatsOut,
)
from app.services import actions_query, csv_export, stats

router = APIRouter(prefix="/api/v1", tags=["actions"])

_JSON_OPTIONS = orjson.OPT_UTC_Z
_ID_LIMIT = 2**31 - 1
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "A parameter is invalid; `errors` names it."}
}


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


async def action_filters(
    status: Annotated[
        list[ActionStatus] | None, Query(description="Any of these statuses (repeatable).")
    ] = None,
    priority: Annotated[
        list[Priority] | None, Query(description="Any of these priorities (repeatable).")
    ] = None,
    owner_id: Annotated[int | None, Query(ge=1, le=_ID_LIMIT)] = None,
    unassigned: Annotated[
        bool | None, Query(description="true: only actions without an owner; false: with one.")
    ] = None,
    force: Annotated[str | None, Query(max_length=200, description="Case-insensitive.")] = None,
    year: Annotated[
        str | None,
        Query(max_length=20, description="As written (2018/19) or the starting year (2018)."),
    ] = None,
    programme: Annotated[str | None, Query(max_length=50)] = None,
    pillar: Annotated[str | None, Query(max_length=100)] = None,
    report_id: Annotated[int | None, Query(ge=1, le=_ID_LIMIT)] = None,
    kind: FindingKind | None = None,
    overdue: Annotated[
        bool | None,
        Query(description="Due before as_of and still open, in progress or blocked."),
    ] = None,
    due_before: Annotated[date | None, Query(description="Due strictly before this day.")] = None,
    due_after: Annotated[date | None, Query(description="Due strictly after this day.")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Case-insensitive text in title, description or ref."),
    ] = None,
    as_of: Annotated[
        date | None, Query(description="The day overdue is judged on (default: today).")
    ] = None,
) -> ActionFilters:
    return ActionFilters(
        statuses=tuple(dict.fromkeys(status or ())),
        priorities=tuple(dict.fromkeys(priority or ())),
        owner_id=owner_id,
        unassigned=unassigned,
        force=_text(force),
        year=_text(year),
        programme=_text(programme),
        pillar=_text(pillar),
        report_id=report_id,
        kind=kind,
        overdue=overdue,
        due_before=due_before,
        due_after=due_after,
        q=_text(q),
        as_of=as_of,
    )


FiltersDep = Annotated[ActionFilters, Depends(action_filters)]


def _wants_csv(output_format: OutputFormat | None, accept: str) -> bool:
    """`format` decides; otherwise Accept, when it prefers text/csv to application/json."""
    if output_format is not None:
        return output_format is OutputFormat.CSV
    if "text/csv" not in accept:
        return False
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = weight
    csv_weight = weights.get("text/csv", 0.0)
    json_weight = weights.get("application/json", 0.0)
    return csv_weight > 0 and csv_weight >= json_weight


def _json(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=_JSON_OPTIONS), media_type="application/json", headers=headers
    )


@router.get(
    "/actions",
    response_model=Page[ActionOut],
    responses={
        200: {
            "description": "A page of actions; with `Accept: text/csv` or `format=csv`, every "
            "matching action as CSV (limit and cursor do not apply).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **_PROBLEMS,
    },
)
def list_actions(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    sort: Annotated[
        ActionSort, Query(description="Order; `-` before the name for descending. Ties by id.")
    ] = ActionSort.ID,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=1000, description="`next_cursor` of the previous page.")
    ] = None,
    count: Annotated[bool, Query(description="Also count every matching action.")] = False,
    output_format: Annotated[OutputFormat | None, Query(alias="format")] = None,
) -> Response:
    """Actions matching every filter given, a page at a time (keyset: follow `next_cursor` or
    the `Link: rel="next"` header). `total` is counted only with `count=true`."""
    if _wants_csv(output_format, request.headers.get("accept", "")):
        return StreamingResponse(
            csv_export.stream_csv(session_factory=SessionLocal, filters=filters, sort=sort),
            media_type="text/csv; charset=utf-8; header=present",
            headers={"Content-Disposition": 'attachment; filename="actions.csv"'},
        )
    page = actions_query.list_page(
        session=session, filters=filters, sort=sort, limit=limit, cursor=cursor, count=count
    )
    headers = None
    if page["next_cursor"] is not None:
        following = request.url.include_query_params(cursor=page["next_cursor"])
        headers = {"Link": f'<{following}>; rel="next"'}
    return _json(page, headers)


@router.get("/stats", response_model=StatsOut, responses=_PROBLEMS)
def action_stats(
    session: SessionDep,
    filters: FiltersDep,
    group_by: StatsGroupBy = StatsGroupBy.STATUS,
) -> Response:
    """Actions per group (same filters as the list): counts per status, total, overdue,
    share completed and the oldest overdue action; plus the totals over all groups."""
    return _json(stats.action_stats(session=session, filters=filters, group_by=group_by))
