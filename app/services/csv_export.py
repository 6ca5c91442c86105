"""Actions as CSV (RFC 4180): streamed in keyset batches, never the whole result in memory;
every record written by the database (app.services.csv_records), so that a million rows take
seconds. On a past day the progress note is the one the action had then
(app.services.past_progress), written between the two parts of the record the database
writes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app.db import Reader
from app.schemas.filters import ActionFilters, ActionSort
from app.services.action_filters import A
from app.services.action_pages import Columns
from app.services.action_reads import iter_row_batches
from app.services.as_of import is_past
from app.services.csv_records import (
    COLUMNS,
    FORMULA_STARTS,
    NOTE,
    RECORD,
    RECORD_AFTER_NOTE,
    RECORD_BEFORE_NOTE,
    text_cell,
)
from app.services.past_progress import notes_then
from app.services.states import day_end

__all__ = ["BATCH_SIZE", "COLUMNS", "FORMULA_STARTS", "stream_csv"]

BATCH_SIZE = 2000

# The id first: the keyset position is read from it.
_RECORD_COLUMNS: Columns = (A.id, RECORD)
_RECORD = itemgetter(1)
_PAST_COLUMNS: Columns = (A.id, RECORD_BEFORE_NOTE, NOTE, RECORD_AFTER_NOTE)


def _records(_db: Reader, rows: Sequence[Any]) -> bytes:
    if not rows:
        return b""
    # Bytes as they are on SQLite; text to encode elsewhere (see csv_records.RECORD).
    if isinstance(_RECORD(rows[0]), bytes):
        return b"".join(map(_RECORD, rows))
    return "".join(map(_RECORD, rows)).encode("utf-8")


def _records_on(as_of: date) -> Callable[[Reader, Sequence[Any]], bytes]:
    """The records of a past day's rows (_PAST_COLUMNS), each with the note it had then."""
    cutoff = day_end(as_of)

    def records(db: Reader, rows: Sequence[Any]) -> bytes:
        notes = notes_then(db=db, notes={row[0]: row[2] for row in rows}, cutoff=cutoff)
        parts: list[bytes] = []
        for row in rows:  # (id, before, note, after) and the sort key, if any
            before, after = row[1], row[3]
            note = text_cell(notes[row[0]]).encode("utf-8")
            if isinstance(before, bytes):
                parts += (before, note, after)
            else:
                parts += (before.encode("utf-8"), note, after.encode("utf-8"))
        return b"".join(parts)

    return records


def stream_csv(
    *,
    session_factory: Callable[[], AbstractContextManager[Session]],
    filters: ActionFilters,
    sort: ActionSort = ActionSort.ID,
    batch_size: int | None = None,
) -> Iterator[bytes]:
    """Every action the filters select, in the sort's order, as UTF-8 CSV with a header row.

    Each batch is read in its own short session from `session_factory` (one that only reads,
    such as `Database.session(read_only=True)`), so no connection or lock is held while the
    client reads; keyset positions keep batches from repeating or skipping rows. Text cells are
    always quoted, so an empty text (`""`) and a missing one (an empty cell) differ.
    """
    as_of = filters.as_of or clock.today()
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(COLUMNS)
    yield header.getvalue().encode("utf-8")
    past = is_past(as_of)
    batches = iter_row_batches(
        sessions=session_factory,
        filters=filters,
        sort=sort,
        as_of=as_of,
        read=_records_on(as_of) if past else _records,
        batch=batch_size or BATCH_SIZE,
        columns=_PAST_COLUMNS if past else _RECORD_COLUMNS,
    )
    for records in batches:
        if records:
            yield records
