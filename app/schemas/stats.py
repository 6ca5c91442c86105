"""The stats answer (`GET /api/v1/stats`): what it groups by and the figures of each group."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from app.enums import ActionStatus


class StatsGroupBy(StrEnum):
    STATUS = "status"
    OWNER = "owner"
    FORCE = "force"
    REPORT = "report"
    PILLAR = "pillar"
    PRIORITY = "priority"
    RAG = "rag"
    # Computed: two groups, stale (true) and not (false).
    STALE = "stale"


class OldestOverdue(BaseModel):
    action_id: int
    reference: str
    due_date: date
    days_overdue: int


class StatsFigures(BaseModel):
    counts: dict[ActionStatus, int]
    total: int
    overdue: int
    completed_share: float
    oldest_overdue: OldestOverdue | None
    completed_on_time_original: int = Field(
        description="Completed actions closed (UTC day) on or before their original due date."
    )
    completed_on_time_revised: int = Field(
        description="Completed actions closed (UTC day) on or before their due date as revised."
    )


class StatsGroup(StatsFigures):
    key: bool | int | str | None
    label: str


class StatsOut(BaseModel):
    group_by: StatsGroupBy
    as_of: date
    groups: list[StatsGroup]
    totals: StatsFigures
