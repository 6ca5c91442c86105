"""The committee pack for any selection of actions: a workbook and a printable page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app import clock
from app.api.auth import AuthenticatedFirst
from app.api.openapi import CONTENT_DISPOSITION, raises
from app.api.params import openapi_parameters, read_query
from app.db import DatabaseDep
from app.schemas.pack import PackFormat
from app.schemas.pack_params import PackParams
from app.services import pack
from app.services.pack import PackTooLarge
from app.services.pack_html import CONTENT_SECURITY_POLICY
from app.services.pack_html import MEDIA_TYPE as HTML_MEDIA_TYPE
from app.services.pack_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE

router = APIRouter(prefix="/api/v1", tags=["pack"], route_class=AuthenticatedFirst)

# The page's own policy (its stylesheet by hash), which it also carries in a <meta>.
_PAGE_POLICY = f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'"
_CONTENT_SECURITY_POLICY = {
    "Content-Security-Policy": {
        "description": "The page may load nothing and run nothing; only its stylesheet applies.",
        "required": True,
        "schema": {"type": "string"},
    }
}
_ERRORS = raises(
    PackTooLarge,
    status_422="Invalid parameters, `since` after the pack's day, or more actions than one pack "
    "holds (AFI_MAX_PACK_ITEMS; `actions` and `limit` say how many): narrow the filters.",
)


def _responses(media_type: str, description: str, headers: dict[str, Any]) -> dict[int | str, Any]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            "headers": headers,
        },
        **_ERRORS,
    }


async def _made(request: Request, db: DatabaseDep, output: PackFormat) -> tuple[bytes, str]:
    """The pack the query asks for, and the name to save it as."""
    params = read_query(PackParams, request)
    today = clock.today()
    body = await db.run_heavy_read(
        pack.make_pack,
        filters=params.to_filters(),
        since=params.since,
        today=today,
        output=output,
    )
    return body, f"committee-pack-{(params.as_of or today).isoformat()}.{output.value}"


@router.get(
    "/pack.xlsx",
    response_class=Response,
    responses=_responses(
        XLSX_MEDIA_TYPE,
        "The workbook: sheets Items, Changes and Figures.",
        CONTENT_DISPOSITION,
    ),
    openapi_extra=openapi_parameters(PackParams),
)
async def get_pack_workbook(request: Request, db: DatabaseDep) -> Response:
    """The committee pack as an Excel workbook, for the actions the list's filters select:
    `Items` (every action with its owner, original and current due date, revisions, RAG,
    % complete, last progress, days overdue, stale, proposed for closure), `Changes` (from
    `since` to `as_of`) and `Figures` (the trend by month, the ageing of overdue actions and
    RAG counts per report)."""
    body, name = await _made(request, db, PackFormat.XLSX)
    return Response(
        body,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/pack.html",
    response_class=Response,
    responses=_responses(
        "text/html",
        "The printable page, with its charts drawn in SVG.",
        {**CONTENT_DISPOSITION, **_CONTENT_SECURITY_POLICY},
    ),
    openapi_extra=openapi_parameters(PackParams),
)
async def get_pack_page(request: Request, db: DatabaseDep) -> Response:
    """The committee pack as one printable HTML page (A4 landscape), for the actions the
    list's filters select: summary, charts (trend, RAG per report, ageing) drawn as SVG with a
    table of their figures, items and changes. It loads nothing from anywhere and runs no
    script: save it, mail it, or print it to PDF from a browser."""
    body, name = await _made(request, db, PackFormat.HTML)
    return Response(
        body,
        media_type=HTML_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Content-Security-Policy": _PAGE_POLICY,
        },
    )
