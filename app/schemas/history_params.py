"""Query parameters of the answers over time: the trend and the changes between two days."""

from __future__ import annotations

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from app.schemas.common import Day, QueryInt
from app.schemas.params import FilterParams
from app.schemas.trend import TrendInterval
from app.services import changes


class _OverTimeParams(FilterParams):
    """The list's filters, less those that ask about one day: these answers have their own
    days (given, they are a 422)."""

    as_of: SkipJsonSchema[None] = None
    overdue: SkipJsonSchema[None] = None
    stale: SkipJsonSchema[None] = None


class TrendParams(_OverTimeParams):
    interval: TrendInterval = Field(default=TrendInterval.MONTH, description="month or quarter.")
    from_: Day | None = Field(
        default=None,
        alias="from",
        description="A day in the first period (default: the last 12 periods up to `to`).",
    )
    to: Day | None = Field(
        default=None,
        description="The last period's end (default: today); periods before it "
        "end on their last day.",
    )


class ChangesParams(_OverTimeParams):
    since: Day | None = Field(
        default=None,
        description="The first day of the window, the day after the last meeting (default: "
        f"{changes.DEFAULT_DAYS} days before until; with a cursor, the cursor's).",
    )
    until: Day | None = Field(
        default=None,
        description="The last day of the window (default: today; with a cursor, the cursor's).",
    )
    limit: QueryInt = Field(
        default=changes.DEFAULT_LIMIT,
        ge=1,
        le=changes.MAX_CHANGES,
        description="The most items of a page, oldest first (`next_cursor`: more follow).",
    )
    cursor: str | None = Field(
        default=None, max_length=1000, description="`next_cursor` of the previous page."
    )
