from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from app.api import links
from app.api.auth import Admin, AuthenticatedFirst
from app.api.deps import SessionDep
from app.api.openapi import LOCATION
from app.api.problems import located_errors
from app.errors import InvalidInput, UnsupportedMediaType
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
_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
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
            },
        },
    }
}


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
    response_model=ImportResult | DryRunResult,
    status_code=201,
    openapi_extra=_UPLOAD_DOC,
    responses={
        200: {"description": "Same report already stored, or a dry run"},
        201: {"headers": LOCATION},
        413: {"description": "The body, or its number of findings, is above the limit."},
        422: {
            "description": "The report cannot be read (`line`, `expected`), or a "
            "parameter is invalid (`errors`)."
        },
    },
)
async def post_report(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Admin,
    dry_run: Annotated[QueryFlag, Query()] = False,
    force: Annotated[Force | None, Query()] = None,
    programme: Annotated[Programme | None, Query()] = None,
    year: Annotated[Year | None, Query()] = None,
    pillar: Annotated[Pillar | None, Query()] = None,
) -> Any:
    """Import a report (text/plain, or multipart/form-data with a `file` part): 201 with what
    was stored, 200 if the same report is already stored. `dry_run=true` parses it and stores
    nothing. `force`, `programme`, `year` and `pillar` stand in for what its header lacks."""
    metadata = {"force": force, "programme": programme, "year": year, "pillar": pillar}
    raw = await _read_report_body(request, metadata)
    if dry_run:
        response.status_code = 200
        return await run_in_threadpool(service.dry_run, raw=raw, metadata=metadata)
    result = await run_in_threadpool(
        service.import_text, session=session, raw=raw, metadata=metadata, actor=actor
    )
    if result.created:
        response.headers["Location"] = links.url_for(
            request, "get_report", report_id=result.report.id
        )
    else:
        response.status_code = 200
    return result


async def _read_report_body(request: Request, metadata: dict[str, str | None]) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/plain", "text/markdown", ""):
        return await request.body()
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            f"Send the report as text/plain or as multipart/form-data with a 'file' part, "
            f"not {content_type!r}."
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
