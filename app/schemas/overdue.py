from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from app.enums import Priority
from app.schemas.actions import ActionOut


class OverdueSummary(BaseModel):
    """What `afi overdue` and dashboards need: counts, and the longest-overdue actions."""

    as_of: date
    due_within: int | None
    checked: int
    overdue: int
    due_soon: int | None
    overdue_by_priority: dict[Priority, int]
    oldest: list[ActionOut]
