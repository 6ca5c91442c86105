"""The committee pack's query parameters: the action list's filters and `since`."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import Day
from app.schemas.params import FilterParams


class PackParams(FilterParams):
    """The actions of the pack are the list's for these filters, on `as_of` (default: today;
    an earlier day gives them as they stood at its end); its changes run from `since` to that
    day."""

    since: Day | None = Field(
        default=None,
        description="The first day of the Changes (default: the first day of the calendar "
        "quarter before the one as_of is in, so that a quarterly committee sees everything "
        "since its last meeting). Not after as_of.",
    )
