from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from app.api import links
from app.api.auth import Admin, AuthenticatedFirst
from app.api.deps import SessionDep
from app.api.openapi import LOCATION
from app.api.openapi_shapes import request_body
from app.api.problems import located_errors
from app.api.responses import model_response
from app.errors import InvalidInput, UnsupportedMediaType
from app.principal import Principal
from app.schemas.common import (
    METADATA_MAX_CHARS,
    Force,
    IdPath,
    Page,
    Pillar,
    Programme,
    QueryFlag,
    SingleLine,
    Year,
)
from app.schemas.reports import DryRunResult, FindingOut, ImportResult, ReportDetail, ReportSummary
from app.services import reports as service

router = APIRouter(prefix="/api/v1", tags=["reports"], route_class=AuthenticatedFirst)

_METADATA: dict[str, TypeAdapter[str]] = {
    "force": TypeAdapter(Force),
    "programme": TypeAdapter(Programme),
    "year": TypeAdapter(Year),
    "pillar": TypeAdapter(Pillar),
}
_FILE_UPLOAD = {
    "type": "object",
    "title": "ReportFileUpload",
    "description": "A report's text as a file; the other parts stand in for what its header lacks.",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        **{
            name: {
                "type": "string",
                "maxLength": METADATA_MAX_CHARS[name],
                "pattern": SingleLine.pattern,
            }
            for name in _METADATA
        },
    },
    "additionalProperties": False,
}
# The text's bytes (UTF-8) as they are: `binary`, which generated clients send untouched.
_REPORT_TEXT = {"type": "string", "format": "binary", "description": "The report's text, UTF-8."}
_IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ImportResult | DryRunResult,
        "description": "The same report was already stored (`ImportResult`, `created` false), "
        "or a dry run (`DryRunResult`).",
    },
    201: {"model": ImportResult, "description": "The report was stored.", "headers": LOCATION},
    413: {"description": "The body, or its number of findings, is above the limit."},
    422: {
        "description": "The report cannot be read (`line`, `expected`), or a parameter is "
        "invalid (`errors`)."
    },
}
DryRun = Annotated[QueryFlag, Query(description="Parse the report and store nothing.")]
ForceParam = Annotated[Force | None, Query()]
ProgrammeParam = Annotated[Programme | None, Query()]
YearParam = Annotated[Year | None, Query()]
PillarParam = Annotated[Pillar | None, Query()]


@router.get("/reports", response_model=Page[ReportSummary])
def list_reports(
    session: SessionDep,
    force: Annotated[Force | None, Query()] = None,
    programme: Annotated[Programme | None, Query()] = None,
    year: Annotated[Year | None, Query()] = None,
    pillar: Annotated[Pillar | None, Query()] = None,
) -> dict[str, Any]:
    """Reports stored, newest first, filtered by their metadata (exact match)."""
    items = service.list_reports(
        session=session, force=force, programme=programme, year=year, pillar=pillar
    )
    return {"items": items, "total": len(items)}


@router.get("/reports/{report_id:int}", response_model=ReportDetail)
def get_report(report_id: IdPath, session: SessionDep) -> Any:
    """A report with its sections, findings and their actions."""
    return service.get_report(session=session, report_id=report_id)


@router.get("/findings/{finding_id:int}", response_model=FindingOut)
def get_finding(finding_id: IdPath, session: SessionDep) -> Any:
    """A finding with its report and actions."""
    return service.get_finding(session=session, finding_id=finding_id)


@router.post(
    "/reports",
    response_model=None,
    status_code=201,
    openapi_extra=request_body("text/plain", _REPORT_TEXT, name="ReportText"),
    responses=_IMPORT_RESPONSES,
)
async def import_report(
    request: Request,
    session: SessionDep,
    actor: Admin,
    dry_run: DryRun = False,
    force: ForceParam = None,
    programme: ProgrammeParam = None,
    year: YearParam = None,
    pillar: PillarParam = None,
) -> Response:
    """Import a report sent as text/plain: 201 with what was stored, 200 if the same report is
    already stored. `dry_run=true` parses it and stores nothing. `force`, `programme`, `year`
    and `pillar` stand in for what its header lacks. (A file goes to `POST /reports/files`;
    sent here as multipart/form-data, as it used to be, it is taken all the same.)"""
    metadata = {"force": force, "programme": programme, "year": year, "pillar": pillar}
    raw = await _read_report_body(request, metadata, multipart_only=False)
    return await _import(request, session, actor, raw=raw, metadata=metadata, dry_run=dry_run)


@router.post(
    "/reports/files",
    response_model=None,
    status_code=201,
    openapi_extra=request_body("multipart/form-data", _FILE_UPLOAD, name="ReportFileUpload"),
    responses=_IMPORT_RESPONSES,
)
async def import_report_file(
    request: Request,
    session: SessionDep,
    actor: Admin,
    dry_run: DryRun = False,
    force: ForceParam = None,
    programme: ProgrammeParam = None,
    year: YearParam = None,
    pillar: PillarParam = None,
) -> Response:
    """Import a report sent as a file (multipart/form-data: a `file` part, and `force`,
    `programme`, `year` and `pillar` parts or parameters for what its header lacks); answers as
    `POST /reports`."""
    metadata = {"force": force, "programme": programme, "year": year, "pillar": pillar}
    raw = await _read_report_body(request, metadata, multipart_only=True)
    return await _import(request, session, actor, raw=raw, metadata=metadata, dry_run=dry_run)


async def _import(
    request: Request,
    session: SessionDep,
    actor: Principal,
    *,
    raw: bytes,
    metadata: dict[str, str | None],
    dry_run: bool,
) -> Response:
    if dry_run:
        parsed = await run_in_threadpool(service.dry_run, raw=raw, metadata=metadata)
        return model_response(parsed, status_code=200)
    result = await run_in_threadpool(
        service.import_text, session=session, raw=raw, metadata=metadata, actor=actor
    )
    if not result.created:
        return model_response(result, status_code=200)
    location = links.url_for(request, "get_report", report_id=result.report.id)
    return model_response(result, status_code=201, headers={"Location": location})


async def _read_report_body(
    request: Request, metadata: dict[str, str | None], *, multipart_only: bool
) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not multipart_only and content_type in ("text/plain", "text/markdown", ""):
        return await request.body()
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "Send the report as text/plain to /reports, or as multipart/form-data with a "
            f"'file' part to /reports/files, not {content_type or 'no content type'!r}."
        )
    async with request.form(max_files=1, max_fields=len(_METADATA)) as form:
        unexpected = sorted(set(form.keys()) - {"file", *_METADATA})
        if unexpected:
            raise InvalidInput(
                f"Send only a 'file' part and {', '.join(_METADATA)}.", field=unexpected[0][:100]
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("The multipart body needs a 'file' part with the report text.")
        errors: list[dict[str, Any]] = []
        for name in _METADATA:
            value = form.get(name)
            if not isinstance(value, str):
                continue
            try:
                checked = _METADATA[name].validate_python(value)
            except ValidationError as exc:
                errors.extend(located_errors(exc, "body", name))
                continue
            if checked:
                metadata[name] = checked
        if errors:
            raise RequestValidationError(errors)
        return await upload.read()
