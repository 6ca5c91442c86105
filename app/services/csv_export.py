"""Actions as CSV (RFC 4180): streamed in keyset batches, never the whole result in memory;
every record written by the database (app.services.csv_records), so that a million rows take
seconds."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from operator import itemgetter

from sqlalchemy.orm import Session

from app import clock
from app.schemas.filters import ActionFilters, ActionSort
from app.services.action_filters import A
from app.services.action_pages import Columns
from app.services.action_reads import iter_row_batches
from app.services.csv_records import COLUMNS, FORMULA_STARTS, RECORD

__all__ = ["BATCH_SIZE", "COLUMNS", "FORMULA_STARTS", "stream_csv"]

BATCH_SIZE = 2000

# The id first: the keyset position is read from it.
_RECORD_COLUMNS: Columns = (A.id, RECORD)
_RECORD = itemgetter(1)


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
    batches = iter_row_batches(
        sessions=session_factory,
        filters=filters,
        sort=sort,
        as_of=as_of,
        batch=batch_size or BATCH_SIZE,
        columns=_RECORD_COLUMNS,
    )
    for rows in batches:
        if not rows:
            continue
        # Bytes as they are on SQLite; text to encode elsewhere (see csv_records.RECORD).
        if isinstance(_RECORD(rows[0]), bytes):
            yield b"".join(map(_RECORD, rows))
        else:
            yield "".join(map(_RECORD, rows)).encode("utf-8")
