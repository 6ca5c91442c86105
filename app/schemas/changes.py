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
        description="When it happened (for newly_overdue: the start of the day it fell due)."
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="The value before: a status, an ISO due date or a RAG.",
    )
    to: str | None = Field(default=None, description="The value after.")
    actor: str | None = None
    reason: str | None = None


class ChangesOut(BaseModel):
    since: date
    until: date
    items: list[ChangeOut]
