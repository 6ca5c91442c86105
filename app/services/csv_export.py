"""Actions as CSV (RFC 4180): streamed in keyset batches, never the whole result in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app.schemas.queries import ActionFilters, ActionSort
from app.services.actions_query import iter_batches

BATCH_SIZE = 1000

COLUMNS = (
    "id",
    "reference",
    "title",
    "description",
    "status",
    "priority",
    "due_date",
    "is_overdue",
    "days_overdue",
    "owner_id",
    "owner_name",
    "owner_email",
    "owner_team",
    "progress_note",
    "finding_id",
    "finding_reference",
    "kind",
    "report_id",
    "force",
    "year",
    "pillar",
    "question",
    "created_at",
    "updated_at",
    "closed_at",
    "version",
    "superseded_by_action_id",
    "superseded_by_finding_id",
)


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """User-written text, kept from being run as a formula: such a cell gets a leading '."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _text(value)
    return value


def _record(item: dict[str, Any]) -> list[Any]:
    owner = item["owner"] or {}
    flat = {
        **item,
        "owner_name": owner.get("name"),
        "owner_email": owner.get("email"),
        "owner_team": owner.get("team"),
    }
    return [_cell(flat[name]) for name in COLUMNS]


def stream_csv(
    *,
    session_factory: Callable[[], AbstractContextManager[Session]],
    filters: ActionFilters,
    sort: ActionSort = ActionSort.ID,
    batch_size: int | None = None,
) -> Iterator[bytes]:
    """Every action the filters select, in the sort's order, as UTF-8 CSV with a header row.

    Each batch is read in its own short session from `session_factory` (one that only reads,
    such as `app.db.new_session(read_only=True)`), so no connection or lock is held while the
    client reads; keyset positions keep batches from repeating or skipping rows.
    """
    as_of = filters.as_of or clock.today()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode("utf-8")
    batches = iter_batches(
        sessions=session_factory,
        filters=filters,
        sort=sort,
        as_of=as_of,
        batch=batch_size or BATCH_SIZE,
    )
    for items in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_record(item) for item in items)
        yield buffer.getvalue().encode("utf-8")
