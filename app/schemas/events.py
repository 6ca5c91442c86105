"""The event feed: its query and its pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.enums import EventType
from app.schemas.common import QueryInt


class FeedEvent(BaseModel):
    """One public event: the envelope webhooks receive (`type`, `timestamp`, `data`) and its
    id (`evt_<id>` is the `webhook-id` of its deliveries)."""

    id: int
    type: EventType
    timestamp: datetime
    data: dict[str, Any] = Field(
        description="`action_id`, `reference`, `report_id`, `owner_id`, `actor` and `user` "
        "for action events; `from` and `to` for changes; `report.imported` has the report's "
        "id, force, programme, year, pillar, title and what the import changed."
    )


class EventFeedPage(BaseModel):
    items: list[FeedEvent]
    next_cursor: str | None = Field(
        description="Give it as `after` to read on; there also at the end of the feed, to ask "
        "later for newer events. Null only when the feed has no event yet."
    )
    has_more: bool = Field(description="Whether more events are there already.")


class EventFeedParams(BaseModel):
    """Following the event feed, oldest first."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    after: str | None = Field(
        default=None,
        max_length=1000,
        description="`next_cursor` of the previous page: events after it. Without it, from "
        "the first event.",
    )
    type: list[EventType] = Field(
        default_factory=list, description="Only events of these types (repeatable)."
    )
    limit: QueryInt = Field(default=100, ge=1, le=500)
