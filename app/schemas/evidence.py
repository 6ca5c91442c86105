from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    RootModel,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from app.models import Evidence
from app.schemas.common import MultiLine, Page, Schema

MAX_NOTE_CHARS = 20_000
MAX_DESCRIPTION_CHARS = 2_000
MAX_URL_CHARS = 2_048  # the width of evidence.url


class EvidenceKind(StrEnum):
    NOTE = "note"
    LINK = "link"
    FILE = "file"


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def _checked_url(url: HttpUrl) -> HttpUrl:
    if len(str(url)) > MAX_URL_CHARS:
        raise ValueError(f"URL should have at most {MAX_URL_CHARS} characters")
    if url.username is not None or url.password is not None:
        raise ValueError("URL should not contain a user name or password")
    return url


NoteText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_CHARS),
    MultiLine,
]
Description = Annotated[
    Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION_CHARS),
        MultiLine,
    ]
    | None,
    AfterValidator(_blank_to_none),
]
LinkUrl = Annotated[HttpUrl, AfterValidator(_checked_url)]


class NoteIn(BaseModel):
    """A note: text saying what was done."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["note"]
    text: NoteText


class LinkIn(BaseModel):
    """A link to evidence held elsewhere (http or https only)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["link"]
    url: LinkUrl = Field(json_schema_extra={"maxLength": MAX_URL_CHARS})
    description: Description = None


EvidenceIn = Annotated[NoteIn | LinkIn, Field(discriminator="kind")]
EVIDENCE_IN: TypeAdapter[NoteIn | LinkIn] = TypeAdapter(EvidenceIn)


class _EvidenceOut(Schema):
    """What every kind of evidence shows. Each kind's answer has every field, set to null
    where the kind has no such thing, so that a client reads them all one way."""

    id: int
    action_id: int
    created_at: datetime
    created_by: str
    deleted_at: datetime | None = None
    deleted_by: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        # A note's text is stored in `description`, the one free-text column of the table.
        if not isinstance(data, Evidence):
            return data
        is_note = data.kind == EvidenceKind.NOTE
        return {
            "id": data.id,
            "action_id": data.action_id,
            "kind": data.kind,
            "text": data.description if is_note else None,
            "description": None if is_note else data.description,
            "url": data.url,
            "file_name": data.file_name,
            "media_type": data.media_type,
            "size_bytes": data.size_bytes,
            "sha256": data.file_sha256,
            "created_at": data.created_at,
            "created_by": data.created_by,
            "deleted_at": data.deleted_at,
            "deleted_by": data.deleted_by,
        }


class NoteEvidence(_EvidenceOut):
    """A note: text saying what was done."""

    kind: Literal["note"]
    text: str = Field(description="The note's text.")
    description: None = None
    url: None = None
    file_name: None = None
    media_type: None = None
    size_bytes: None = None
    sha256: None = None


class LinkEvidence(_EvidenceOut):
    """A link to evidence held elsewhere."""

    kind: Literal["link"]
    text: None = None
    description: str | None = None
    url: str
    file_name: None = None
    media_type: None = None
    size_bytes: None = None
    sha256: None = None


class FileEvidence(_EvidenceOut):
    """A file stored by the service (its content: `GET /api/v1/evidence/{id}/content`)."""

    kind: Literal["file"]
    text: None = None
    description: str | None = None
    url: None = None
    file_name: str | None = Field(default=None, description="The name it was uploaded with.")
    media_type: str | None = Field(default=None, description="The type it was uploaded as.")
    size_bytes: int
    sha256: str


class EvidenceOut(
    RootModel[Annotated[NoteEvidence | LinkEvidence | FileEvidence, Field(discriminator="kind")]]
):
    """A note, a link or a file, told apart by `kind`."""

    model_config = ConfigDict(from_attributes=True)


class EvidencePage(Page[EvidenceOut]):
    """An action's evidence."""
