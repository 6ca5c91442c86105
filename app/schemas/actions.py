from __future__ import annotations

from datetime import date, datetime

from app.enums import ActionStatus, FindingKind, Priority
from app.schemas.common import Schema


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
    progress_note: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    is_overdue: bool
    days_overdue: int
