"""The one clock: every "now" and "today" in the service comes from here, so tests can set it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.settings import get_settings


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().astimezone(get_settings().tz).date()
