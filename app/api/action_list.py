"""The action list: every action matching the filters, a page at a time as JSON, or all as CSV
(its own operation, GET /actions.csv, beside the old `format=csv`).

The routes only parse parameters and call the services (a page's `total` is counted in a
read of its own, kept between writes); pages are built as plain dicts and serialised with
orjson (the response_model documents the shape in OpenAPI).
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from app.api.auth import AuthenticatedFirst
from app.api.kept_answers import kept_count
from app.api.openapi import CONTENT_DISPOSITION, LINK
from app.api.params import openapi_parameters, read_query
from app.api.quality import quality_values
from app.api.responses import page_response
from app.db import Database, DatabaseDep
from app.schemas.actions import ActionOut
from app.schemas.common import Page
from app.schemas.filters import OutputFormat
from app.schemas.params import ExportParams, ListParams
from app.services import action_reads, csv_export

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)


def _wants_csv(output_format: OutputFormat | None, accept: str) -> bool:
    """`format` decides; otherwise Accept, when it prefers text/csv to application/json."""
    if output_format is not None:
        return output_format is OutputFormat.CSV
    if "text/csv" not in accept:
        return False
    weights = quality_values(accept)
    csv_weight = weights.get("text/csv", 0.0)
    json_weight = weights.get("application/json", 0.0)
    return csv_weight > 0 and csv_weight >= json_weight


@router.get(
    "/actions",
    response_model=Page[ActionOut],
    responses={200: {"description": "A page of actions.", "headers": LINK}},
    # `format=csv` (and `Accept: text/csv`) still answer CSV here, as they always did; the
    # document gives CSV an operation of its own, so that the list is always JSON to a client.
    openapi_extra=openapi_parameters(ListParams, exclude=frozenset({"format"})),
)
async def list_actions(request: Request, db: DatabaseDep) -> Response:
    """Actions matching every filter given, a page at a time (keyset: follow `next_cursor` or
    the `Link: rel="next"` header). `total` is counted only with `count=true`. For CSV, see
    `GET /api/v1/actions.csv`."""
    params = read_query(ListParams, request)
    filters = params.to_filters()
    if _wants_csv(params.format, request.headers.get("accept", "")):
        return await _csv(db, params)
    # One day for the page and its count, whenever midnight falls.
    day = action_reads.page_day(filters=filters, sort=params.sort, cursor=params.cursor)
    on_day = replace(filters, as_of=day)
    page = await db.run_read(
        action_reads.list_page,
        filters=on_day,
        sort=params.sort,
        limit=params.limit,
        cursor=params.cursor,
    )
    if params.count:
        page["total"] = await kept_count(db, on_day)
    return page_response(request, page)


@router.get(
    "/actions.csv",
    response_class=Response,
    responses={
        200: {
            "description": "Every matching action as CSV, one row each, with a header row.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": CONTENT_DISPOSITION,
        },
    },
    openapi_extra=openapi_parameters(ExportParams),
)
async def export_actions_csv(request: Request, db: DatabaseDep) -> Response:
    """Every action matching the filters (those of the list) as CSV, in the order asked for."""
    return await _csv(db, read_query(ExportParams, request))


async def _csv(db: Database, params: ExportParams) -> Response:
    # Started here, so that a database that fails at once is answered with a problem.
    body = await db.started_stream(
        csv_export.stream_csv(
            session_factory=lambda: db.session(read_only=True),
            filters=params.to_filters(),
            sort=params.sort,
        )
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8; header=present",
        headers={"Content-Disposition": 'attachment; filename="actions.csv"'},
    )
