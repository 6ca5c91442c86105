"""What changed between two days: the answer of the changes feed and the pack's Changes sheet."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ChangeKind(StrEnum):
    STATUS_CHANGED = "status_changed"
    NEWLY_OVERDUE = "newly_overdue"
    DUE_DATE_REVISED = "due_date_revised"
    RAG_CHANGED = "rag_changed"
    PROPOSED_FOR_CLOSURE = "proposed_for_closure"


class ChangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    kind: ChangeKind
    action_id: int
    reference: str
    title: str
    at: datetime = Field(
        description="When it happened (for newly_overdue: the start, in AFI_TIMEZONE, of the "
        "first day it was overdue, the day after its due date)."
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="The value before: a status, an ISO due date or a RAG.",
    )
    to: str | None = Field(
        default=None, description="The value after (for newly_overdue: the due date passed)."
    )
    actor: str | None = None
    reason: str | None = None


class ChangesOut(BaseModel):
    since: date
    until: date
    items: list[ChangeOut] = Field(description="Oldest first.")
    truncated: bool = Field(
        default=False,
        description="Deprecated: use `next_cursor`. Whether there are more changes after "
        "these in the window (the same as `next_cursor` not being null).",
        json_schema_extra={"deprecated": True},
    )
    next_cursor: str | None = Field(
        default=None,
        description="Give it as `cursor` to read the next page (also in the `Link: "
        'rel="next"` header); null on the last page.',
    )
