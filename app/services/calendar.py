"""Due dates as an iCalendar (RFC 5545) feed: one all-day event per action."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from itertools import takewhile
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus
from app.schemas.filters import ActionFilters, ActionSort
from app.services import action_reads

PRODUCT_ID = "-//AFI Tracker//Due dates//EN"
NOT_CLOSED = (
    ActionStatus.OPEN,
    ActionStatus.IN_PROGRESS,
    ActionStatus.BLOCKED,
    ActionStatus.PENDING_SIGN_OFF,
)


def feed(*, session: Session, filters: ActionFilters, base_url: str | None, name: str) -> bytes:
    """Every matching action with a due date; closed ones are left out unless asked for.
    Events link to their action under `base_url` (the public URL); without it, they do not
    link (a calendar's URL property is an absolute URI)."""
    if not filters.statuses:
        filters = replace(filters, statuses=NOT_CLOSED)
    items = _with_due_date(session=session, filters=filters)
    return build(items=items, base_url=base_url, name=name)


def _with_due_date(*, session: Session, filters: ActionFilters) -> Iterable[dict[str, Any]]:
    items = action_reads.iter_actions(
        session=session,
        filters=filters,
        sort=ActionSort.DUE_DATE,
        as_of=filters.as_of or clock.today(),
        # No event shows the progress note or the revision count: on a past day, not rebuilt.
        past_progress=False,
    )
    # Undated actions sort last: stop there rather than fetch them.
    return takewhile(lambda item: item["due_date"] is not None, items)


def build(*, items: Iterable[dict[str, Any]], base_url: str | None, name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in items:
        calendar.add_component(_event(item, base_url=base_url.rstrip("/") if base_url else None))
    ical: bytes = calendar.to_ical()
    return ical


def _event(item: dict[str, Any], *, base_url: str | None) -> Event:
    link = f"{base_url}/api/v1/actions/{item['id']}" if base_url else None
    owner = item["owner"]["name"] if item.get("owner") else "unassigned"
    event = Event()
    # Stable across feeds and edits, so calendar apps update the event instead of adding one.
    event.add("uid", f"action-{item['id']}@afi-tracker")
    event.add("dtstamp", item["updated_at"])
    event.add("last-modified", item["updated_at"])
    event.add("sequence", item["version"] - 1)
    event.add("dtstart", item["due_date"])
    # RFC 5545: a date event without DTEND lasts the day; due dates stop well before date.max.
    event.add("dtend", item["due_date"] + timedelta(days=1))
    event.add("summary", f"{item['reference']}: {item['title']}")
    description = (
        f"Status: {item['status']}. Priority: {item['priority']}. Owner: {owner}.\n"
        f"{item['force']} {item['year']}: {item['question'] or ''}"
    )
    if link:
        description += f"\n{link}"
        event.add("url", link)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    event.add("categories", [item["status"], item["priority"]])
    return event
