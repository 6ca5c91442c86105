"""Evidence on actions: notes and links as JSON, files as multipart/form-data (streamed to disk)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.api.auth import Admin, Editor
from app.api.deps import SessionDep
from app.errors import AppError, InvalidInput, UnsupportedMediaType
from app.schemas.common import Problem
from app.schemas.evidence import (
    EVIDENCE_IN,
    MAX_DESCRIPTION_CHARS,
    EvidenceOut,
    EvidencePage,
    LinkIn,
    NoteIn,
)
from app.services import evidence as service
from app.services import storage

router = APIRouter(prefix="/api/v1", tags=["evidence"])

_PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}
_MAX_PARTS = 2  # the file and its description
_MAX_FIELD_BYTES = 4 * MAX_DESCRIPTION_CHARS  # UTF-8: at most 4 bytes a character
_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [NoteIn.model_json_schema(), LinkIn.model_json_schema()]}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "description": {"type": "string", "maxLength": MAX_DESCRIPTION_CHARS},
                    },
                }
            },
        },
    }
}


class MalformedMultipart(AppError):
    title = "Malformed multipart body"


@router.post(
    "/actions/{action_id}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    openapi_extra=_UPLOAD_DOC,
    responses={
        400: _PROBLEM,
        404: _PROBLEM,
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
    },
)
async def add_evidence(
    action_id: int, request: Request, response: Response, session: SessionDep, actor: Editor
) -> Any:
    """Add a note or a link (JSON), or a file (multipart/form-data: `file`, `description`)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        payload = _validated_json(await request.body())
        evidence = await run_in_threadpool(
            service.add, session=session, action_id=action_id, payload=payload, actor=actor
        )
    elif content_type == "multipart/form-data":
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
    else:
        raise UnsupportedMediaType(
            "Send a note or a link as application/json, or a file as multipart/form-data "
            f"with a 'file' part, not {content_type or 'no content type'!r}."
        )
    response.headers["Location"] = str(request.url_for("get_evidence", evidence_id=evidence.id))
    return evidence


@router.get("/actions/{action_id}/evidence", response_model=EvidencePage, responses={404: _PROBLEM})
def list_evidence(
    action_id: int,
    session: SessionDep,
    include_deleted: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    items = service.list_for_action(
        session=session, action_id=action_id, include_deleted=include_deleted
    )
    return {"items": items, "total": len(items)}


@router.get("/evidence/{evidence_id}", response_model=EvidenceOut, responses={404: _PROBLEM})
def get_evidence(evidence_id: int, session: SessionDep) -> Any:
    return service.get_evidence(session=session, evidence_id=evidence_id)


@router.get(
    "/evidence/{evidence_id}/content",
    response_class=FileResponse,
    responses={
        200: {"description": "The file, as an attachment", "content": {"*/*": {}}},
        404: _PROBLEM,
    },
)
def get_evidence_content(evidence_id: int, session: SessionDep) -> FileResponse:
    stored = service.get_file(session=session, evidence_id=evidence_id)
    evidence = stored.evidence
    name = evidence.file_name or f"evidence-{evidence.id}"
    return FileResponse(
        stored.path,
        headers={
            "Content-Type": evidence.media_type or service.DEFAULT_MEDIA_TYPE,
            "Content-Disposition": content_disposition(name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete(
    "/evidence/{evidence_id}",
    status_code=204,
    response_class=Response,
    responses={404: _PROBLEM, 409: _PROBLEM},
)
def delete_evidence(evidence_id: int, session: SessionDep, actor: Admin) -> Response:
    """Soft delete. 409 once the action is completed, or when already removed."""
    service.remove(session=session, evidence_id=evidence_id, actor=actor)
    return Response(status_code=204)


def content_disposition(name: str) -> str:
    """`attachment` with a plain ASCII fallback name and the exact name as RFC 5987 filename*."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9 ._()+-]", "_", ascii_name).strip(" .") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _validated_json(body: bytes) -> NoteIn | LinkIn:
    try:
        return EVIDENCE_IN.validate_json(body)
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            loc = tuple(error["loc"])
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = ("kind",)
            errors.append({**error, "loc": ("body", *loc)})
        raise RequestValidationError(errors) from None


@dataclass
class _Upload:
    blob: storage.StagedBlob
    file_name: str | None
    media_type: str | None
    description: str | None


@dataclass
class _MultipartState:
    """What the (synchronous) parser callbacks collect; file data waits in `pending` until
    the request handler writes it to disk off the event loop."""

    pending: list[bytes] = field(default_factory=list)
    parts: int = 0
    header_name: bytes = b""
    header_value: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    current: str | None = None
    field_data: bytearray = field(default_factory=bytearray)
    fields: dict[str, bytes] = field(default_factory=dict)
    saw_file: bool = False
    file_name: bytes | None = None
    media_type: bytes | None = None
    finished: bool = False

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise _invalid_part("", "Send only a 'file' part and an optional 'description'.")
        self.headers = {}
        self.current = None
        self.field_data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition"))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "file":
            if self.saw_file:
                raise _invalid_part("file", "Send exactly one 'file' part.")
            self.saw_file = True
            self.file_name = options.get(b"filename")
            self.media_type = self.headers.get(b"content-type")
        elif name == "description":
            if name in self.fields:
                raise _invalid_part(name, "Send at most one 'description' part.")
        else:
            raise _invalid_part(
                name[:100], f"Unexpected part {name[:100]!r}; send 'file' and 'description'."
            )
        self.current = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current == "file":
            self.pending.append(data[start:end])
            return
        self.field_data += data[start:end]
        if len(self.field_data) > _MAX_FIELD_BYTES:
            raise _invalid_part(
                str(self.current),
                f"The {self.current} should have at most {MAX_DESCRIPTION_CHARS} characters.",
            )

    def on_part_end(self) -> None:
        if self.current is not None and self.current != "file":
            self.fields[self.current] = bytes(self.field_data)

    def on_end(self) -> None:
        self.finished = True

    def take_pending(self) -> list[bytes]:
        pending, self.pending = self.pending, []
        return pending


async def _receive_upload(request: Request) -> _Upload:
    """Stream a multipart body: the `file` part to a temporary file in the data directory
    (counted against the upload limit as it arrives), the small `description` into memory."""
    _, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedMultipart("The multipart/form-data content type has no boundary.")
    state = _MultipartState()
    writer = await run_in_threadpool(storage.BlobWriter)
    try:
        try:
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": state.on_part_begin,
                    "on_part_data": state.on_part_data,
                    "on_part_end": state.on_part_end,
                    "on_header_field": state.on_header_field,
                    "on_header_value": state.on_header_value,
                    "on_header_end": state.on_header_end,
                    "on_headers_finished": state.on_headers_finished,
                    "on_end": state.on_end,
                },
            )
            async for chunk in request.stream():
                parser.write(chunk)
                pending = state.take_pending()
                if pending:
                    await run_in_threadpool(writer.write_all, pending)
            parser.finalize()
        except FormParserError as exc:
            raise MalformedMultipart("The multipart/form-data body is malformed.") from exc
        if not state.finished:
            raise MalformedMultipart("The multipart/form-data body ended before its last part.")
        if not state.saw_file:
            raise _invalid_part("file", "The multipart body needs a 'file' part.", "missing")
        blob = await run_in_threadpool(writer.finish)
    except BaseException:
        await run_in_threadpool(writer.discard)
        raise
    try:
        description = state.fields.get("description", b"").decode("utf-8")
    except UnicodeDecodeError:
        blob.discard()
        raise _invalid_part("description", "The description is not valid UTF-8.") from None
    return _Upload(
        blob=blob,
        file_name=_header_text(state.file_name),
        media_type=_header_text(state.media_type),
        description=description,
    )


def _header_text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _invalid_part(name: str, message: str, error_type: str = "value_error") -> InvalidInput:
    return InvalidInput(
        message, errors=[{"field": name, "in": "body", "message": message, "type": error_type}]
    )
