"""The trend answer: figures at the end of each period, and the ageing of what is overdue."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class TrendInterval(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


class TrendPoint(BaseModel):
    period_end: date = Field(
        description="The last day of the period; figures are as they stood then."
    )
    open: int = Field(
        description="Actions not yet completed, superseded or withdrawn on period_end."
    )
    overdue: int = Field(description="Of those, the ones past their due date on period_end.")
    completed: int = Field(description="Actions completed during the period.")
    opened: int = Field(description="Actions created during the period.")


class Ageing(BaseModel):
    """Overdue actions at the last period end, by how many days they were past due."""

    as_of: date
    days_0_30: int
    days_31_90: int
    days_91_180: int
    days_over_180: int


class TrendOut(BaseModel):
    interval: TrendInterval
    items: list[TrendPoint]
    ageing: Ageing
