"""The action list: every action matching the filters, a page at a time as JSON or all as CSV.

The route only parses parameters and calls one service function; pages are built as plain
dicts and serialised with orjson (the response_model documents the shape in OpenAPI).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from app.api.auth import AuthenticatedFirst
from app.api.openapi import CONTENT_DISPOSITION, LINK
from app.api.params import openapi_parameters, read_query
from app.api.responses import page_response
from app.db import DatabaseDep
from app.schemas.actions import ActionOut
from app.schemas.common import Page
from app.schemas.filters import OutputFormat
from app.schemas.params import ListParams
from app.services import action_reads, csv_export

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=AuthenticatedFirst)


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


@router.get(
    "/actions",
    response_model=Page[ActionOut],
    responses={
        200: {
            "description": "A page of actions; with `Accept: text/csv` or `format=csv`, every "
            "matching action as CSV (limit and cursor do not apply).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {**LINK, **CONTENT_DISPOSITION},
        },
    },
    openapi_extra=openapi_parameters(ListParams),
)
async def list_actions(request: Request, db: DatabaseDep) -> Response:
    """Actions matching every filter given, a page at a time (keyset: follow `next_cursor` or
    the `Link: rel="next"` header). `total` is counted only with `count=true`."""
    params = read_query(ListParams, request)
    filters = params.to_filters()
    if _wants_csv(params.format, request.headers.get("accept", "")):
        # Started here, so that a database that fails at once is answered with a problem.
        body = await db.started_stream(
            csv_export.stream_csv(
                session_factory=lambda: db.session(read_only=True),
                filters=filters,
                sort=params.sort,
            )
        )
        return StreamingResponse(
            body,
            media_type="text/csv; charset=utf-8; header=present",
            headers={"Content-Disposition": 'attachment; filename="actions.csv"'},
        )
    # Counting every match may read much of the table: a heavy read.
    read = db.run_heavy_read if params.count else db.run_read
    page = await read(
        action_reads.list_page,
        filters=filters,
        sort=params.sort,
        limit=params.limit,
        cursor=params.cursor,
        count=params.count,
    )
    return page_response(request, page)
