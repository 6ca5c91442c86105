"""Evidence on actions: notes and links as JSON, files as multipart/form-data (an operation
each, so that a generated client has one kind of body per call)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.types import Receive, Scope, Send

from app.api import links
from app.api.auth import Admin, AuthenticatedFirst, Editor
from app.api.deps import SessionDep
from app.api.openapi import CONTENT_DISPOSITION, LOCATION, raises
from app.api.openapi_shapes import request_body
from app.api.problems import located_errors
from app.errors import Conflict, InsufficientStorage, InvalidInput, UnsupportedMediaType
from app.schemas.common import IdPath, MultiLine, QueryFlag, control_character_problem
from app.schemas.evidence import (
    EVIDENCE_IN,
    MAX_DESCRIPTION_CHARS,
    EvidenceIn,
    EvidenceOut,
    EvidencePage,
    LinkIn,
    NoteIn,
)
from app.services import evidence as service
from app.services import storage

router = APIRouter(prefix="/api/v1", tags=["evidence"], route_class=AuthenticatedFirst)

_CHUNK_BYTES = 64 * 1024
_MAX_FIELD_BYTES = 4 * MAX_DESCRIPTION_CHARS  # UTF-8: at most 4 bytes a character
_FILE_UPLOAD = {
    "type": "object",
    "title": "EvidenceFileUpload",
    "description": "A file, and what it shows.",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "description": {
            "type": "string",
            "maxLength": MAX_DESCRIPTION_CHARS,
            "pattern": MultiLine.pattern,
        },
    },
    "additionalProperties": False,
}
_CREATED = {201: {"headers": LOCATION}, **raises(InsufficientStorage)}


@router.post(
    "/actions/{action_id:int}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    openapi_extra=request_body("application/json", EvidenceIn, name="EvidenceIn"),
    responses=_CREATED,
)
async def add_evidence(
    action_id: IdPath, request: Request, response: Response, session: SessionDep, actor: Editor
) -> Any:
    """Add a note or a link. (A file goes to `POST .../evidence/files`; sent here as
    multipart/form-data, as it used to be, it is taken all the same.)"""
    content_type = _content_type(request)
    if content_type == "multipart/form-data":
        return await add_evidence_file(action_id, request, response, session, actor)
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(
            "Send a note or a link as application/json (a file as multipart/form-data to "
            f".../evidence/files), not {content_type or 'no content type'!r}."
        )
    payload = _validated_json(await request.body())
    evidence = await run_in_threadpool(
        service.add, session=session, action_id=action_id, payload=payload, actor=actor
    )
    response.headers["Location"] = links.url_for(request, "get_evidence", evidence_id=evidence.id)
    return evidence


@router.post(
    "/actions/{action_id:int}/evidence/files",
    response_model=EvidenceOut,
    status_code=201,
    openapi_extra=request_body("multipart/form-data", _FILE_UPLOAD, name="EvidenceFileUpload"),
    responses=_CREATED,
)
async def add_evidence_file(
    action_id: IdPath, request: Request, response: Response, session: SessionDep, actor: Editor
) -> Any:
    """Add a file (multipart/form-data: a `file` part and an optional `description`)."""
    content_type = _content_type(request)
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "Send a file as multipart/form-data with a 'file' part, not "
            f"{content_type or 'no content type'!r}."
        )
    upload = await _receive_upload(request)
    try:
        evidence = await run_in_threadpool(
            service.add_file,
            session=session,
            action_id=action_id,
            blob=upload.blob,
            file_name=upload.file_name,
            media_type=upload.media_type,
            description=upload.description,
            actor=actor,
        )
    finally:
        upload.blob.discard()
    response.headers["Location"] = links.url_for(request, "get_evidence", evidence_id=evidence.id)
    return evidence


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.get("/actions/{action_id:int}/evidence", response_model=EvidencePage)
def list_evidence(
    action_id: IdPath,
    session: SessionDep,
    include_deleted: Annotated[
        QueryFlag, Query(description="Include removed evidence (shown as removed).")
    ] = False,
) -> dict[str, Any]:
    """The action's evidence, oldest first."""
    items = service.list_for_action(
        session=session, action_id=action_id, include_deleted=include_deleted
    )
    return {"items": items, "total": len(items)}


@router.get("/evidence/{evidence_id:int}", response_model=EvidenceOut)
def get_evidence(evidence_id: IdPath, session: SessionDep) -> Any:
    """One item of evidence (a file's description, not its content)."""
    return service.get_evidence(session=session, evidence_id=evidence_id)


@router.get(
    "/evidence/{evidence_id:int}/content",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file, as an attachment, in the media type it was uploaded as "
            "(`application/octet-stream` when it had none).",
            # The generic type first: generated clients read the answer as bytes.
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in (service.DEFAULT_MEDIA_TYPE, "*/*")
            },
            "headers": {
                **CONTENT_DISPOSITION,
                "ETag": {
                    "description": "The stored file's entity tag, for caches.",
                    "schema": {"type": "string"},
                },
            },
        },
    },
)
def get_evidence_content(evidence_id: IdPath, session: SessionDep) -> FileResponse:
    """A file's content, as it was uploaded (404 for a note or a link, or once removed)."""
    stored = service.get_file(session=session, evidence_id=evidence_id)
    evidence = stored.evidence
    name = evidence.file_name or f"evidence-{evidence.id}"
    return _WholeFile(
        stored.path,
        headers={
            "Content-Type": evidence.media_type or service.DEFAULT_MEDIA_TYPE,
            "Content-Disposition": content_disposition(name),
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete(
    "/evidence/{evidence_id:int}",
    status_code=204,
    response_class=Response,
    responses=raises(
        Conflict, status_409="Already removed, or the action is completed or waiting for sign-off."
    ),
)
def delete_evidence(evidence_id: IdPath, session: SessionDep, actor: Admin) -> Response:
    """Soft delete. 409 once the action is completed, or when already removed."""
    service.remove(session=session, evidence_id=evidence_id, actor=actor)
    return Response(status_code=204)


class _WholeFile(FileResponse):
    """The whole file, always: ranges are not offered, so that every answer is the documented
    200 (Starlette would answer a `Range` with 206, or a plain-text 416)."""

    def __init__(self, path: Path, *, headers: dict[str, str]) -> None:
        super().__init__(path, headers=headers)
        del self.headers["accept-ranges"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"] if name != b"range"]
        await super().__call__({**scope, "headers": headers}, receive, send)


def content_disposition(name: str) -> str:
    """`attachment` with a plain ASCII fallback name and the exact name as RFC 5987 filename*."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9 ._()+-]", "_", ascii_name).strip(" .") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _validated_json(body: bytes) -> NoteIn | LinkIn:
    try:
        return EVIDENCE_IN.validate_json(body)
    except ValidationError as exc:
        errors = located_errors(exc, "body")
        for error in errors:
            # The union's tag is the `kind` field; Pydantic locates it at the union itself.
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                error["loc"] = ("body", "kind")
        raise RequestValidationError(errors) from None


@dataclass
class _Upload:
    blob: storage.StagedBlob
    file_name: str | None
    media_type: str | None
    description: str | None


async def _receive_upload(request: Request) -> _Upload:
    """Read a multipart body (Starlette spools the file to a temporary file as it arrives)
    and stage the file in the store's temporary directory, hashed and counted on the way."""
    async with request.form(max_files=1, max_fields=1, max_part_size=_MAX_FIELD_BYTES) as form:
        unexpected = sorted(set(form.keys()) - {"file", "description"})
        if unexpected:
            raise InvalidInput(
                "Send only a 'file' part and an optional 'description'.", field=unexpected[0][:100]
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(
                "The multipart body needs a 'file' part.", field="file", error_type="missing"
            )
        description = form.get("description")
        if description is not None and not isinstance(description, str):
            raise InvalidInput("The description must be text, not a file.", field="description")
        problem = control_character_problem(description, multi=True) if description else None
        if problem:
            raise InvalidInput(problem, field="description", error_type="control_character")
        writer = await run_in_threadpool(storage.BlobWriter)
        try:
            while chunk := await upload.read(_CHUNK_BYTES):
                await run_in_threadpool(writer.write, chunk)
            blob = await run_in_threadpool(writer.finish)
        except BaseException:
            await run_in_threadpool(writer.discard)
            raise
        return _Upload(
            blob=blob,
            file_name=upload.filename,
            media_type=upload.content_type,
            description=description,
        )
