from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.enums import ActionStatus, EventKind, FindingKind, Priority, Rag
from app.schemas.common import (
    Day,
    Id,
    MultiLine,
    Percent,
    Schema,
    SingleLine,
    not_null,
    optional_not_null,
)


class OwnerBrief(Schema):
    id: int
    name: str
    email: str | None
    team: str | None


class ActionOut(Schema):
    id: int
    reference: str
    title: str
    description: str
    finding_id: int
    finding_reference: str
    kind: FindingKind
    report_id: int
    force: str
    year: str
    pillar: str | None
    question: str | None
    owner_id: int | None
    owner: OwnerBrief | None
    status: ActionStatus
    priority: Priority
    due_date: date | None
    original_due_date: date | None = Field(
        default=None, description="The first due date the action was given."
    )
    due_date_revisions: int = Field(
        default=0, description="How many times the due date was changed after it was first set."
    )
    progress_note: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    is_overdue: bool
    days_overdue: int
    superseded_by_action_id: int | None = None
    superseded_by_finding_id: int | None = None
    finding_withdrawn_at: datetime | None = None
    rag: Rag | None = None
    percent_complete: int | None = None
    last_progress_at: datetime | None = Field(
        default=None, description="When progress_note, rag or percent_complete last changed."
    )
    stale: bool = Field(
        default=False,
        description="Open, in progress or blocked with no progress update (since it was "
        "created, if never) for more than AFI_STALE_AFTER_DAYS days before as_of.",
    )


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), SingleLine
]
LongText = Annotated[str, StringConstraints(max_length=20_000), MultiLine]
Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000), MultiLine
]
_REASON = "Why the due date changes: required when it revises a due date the action already had."


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding_id: Id
    title: Title | None = None
    description: LongText | None = None
    owner_id: Id | None = None
    priority: Priority = Priority.MEDIUM
    due_date: Day | None = None
    progress_note: LongText | None = None


class ActionUpdate(BaseModel):
    """Only the fields sent are changed; `null` clears owner_id, due_date or progress_note."""

    model_config = ConfigDict(extra="forbid")

    # None when left out; sent as null, refused (422) before anything else is looked at.
    title: Title | None = optional_not_null()
    description: LongText | None = optional_not_null()
    owner_id: Id | None = None
    priority: Priority | None = optional_not_null()
    due_date: Day | None = None
    due_date_reason: Comment | None = Field(default=None, description=_REASON)
    progress_note: LongText | None = None
    # A progress update: either one needs a progress_note in the same request (422 otherwise).
    rag: Rag | None = Field(
        default=None, description="Sent (null clears it), needs progress_note as well."
    )
    percent_complete: Percent | None = Field(
        default=None, description="Sent (null clears it), needs progress_note as well."
    )

    _not_null = field_validator("title", "description", "priority")(not_null)


class BulkFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: Id | None = None
    due_date: Day | None = None
    due_date_reason: Comment | None = Field(default=None, description=_REASON)
    priority: Priority | None = optional_not_null()

    _not_null = field_validator("priority")(not_null)


class BulkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]
    set: BulkFields


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: ActionStatus
    comment: Comment | None = None
    superseded_by_action_id: Id | None = None
    superseded_by_finding_id: Id | None = None


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment


class EventOut(Schema):
    id: int
    action_id: int
    kind: EventKind
    actor: str
    user: str | None = Field(
        validation_alias=AliasChoices("user_name", "user"),
        description="The user (person) who acted, whichever of their tokens they used; "
        "null for the command line.",
    )
    created_at: datetime
    changes: dict[str, Any]
    comment: str | None


class DueDateRevisionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(alias="from", description="The due date before the revision.")
    to: date | None = Field(description="The due date after it (null: cleared).")
    reason: str | None
    actor: str
    user: str | None = None
    at: datetime


class DueDateRevisions(BaseModel):
    items: list[DueDateRevisionOut]
