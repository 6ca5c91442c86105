"""Actions as CSV (RFC 4180): streamed in keyset batches, never the whole result in memory;
every cell written by the database, so that a million rows take seconds."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import ColumnElement, String, case, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.schemas.queries import ActionFilters, ActionSort
from app.services.action_filters import OWNER, SECTION, A, F, R
from app.services.action_pages import Columns
from app.services.actions_query import iter_row_batches
from app.services.overdue_rule import DAYS_OVERDUE, OVERDUE

BATCH_SIZE = 2000

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


class iso_moment(FunctionElement[str]):
    """A UTC timestamp as the JSON shows it (`2030-01-15T09:30:00.000001Z`, no fraction when it
    is nought), written by the database rather than by Python for each of a million values."""

    type = String()
    name = "iso_moment"
    inherit_cache = True


@compiles(iso_moment)
def _iso_moment(element: iso_moment, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    text = f"to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"(replace({text}, '.000000', '') || 'Z')"


@compiles(iso_moment, "sqlite")
def _iso_moment_sqlite(element: iso_moment, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as `2030-01-15 09:30:00.000001+00:00` (app.models.base.SQLITE_UTC_FORMAT).
    moment = compiler.process(element.clauses, **kw)
    return f"replace(replace(replace({moment}, ' ', 'T'), '.000000+', '+'), '+00:00', 'Z')"


class iso_day(FunctionElement[str]):
    """A date as `YYYY-MM-DD`."""

    type = String()
    name = "iso_day"
    inherit_cache = True


@compiles(iso_day)
def _iso_day(element: iso_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


@compiles(iso_day, "sqlite")
def _iso_day_sqlite(element: iso_day, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # stored as ISO text


def _text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """User-written text, kept from being run as a formula: such a cell gets a leading '."""
    first = func.substr(column, 1, 1)
    return case((first.in_(FORMULA_STARTS), literal("'") + column), else_=column)


# Each CSV column as the database writes it, in the order of COLUMNS: rows go straight to the
# csv module, with no Python work per value.
_CELLS: dict[str, ColumnElement[Any]] = {
    "id": A.id,
    "reference": _text(A.reference),
    "title": _text(A.title),
    "description": _text(A.description),
    "status": A.status,
    "priority": A.priority,
    "due_date": iso_day(A.due_date),
    "is_overdue": case((OVERDUE, "true"), else_="false"),
    "days_overdue": DAYS_OVERDUE,
    "owner_id": A.owner_id,
    "owner_name": _text(OWNER.c.name),
    "owner_email": _text(OWNER.c.email),
    "owner_team": _text(OWNER.c.team),
    "progress_note": _text(A.progress_note),
    "finding_id": A.finding_id,
    "finding_reference": _text(F.reference),
    "kind": F.kind,
    "report_id": A.report_id,
    "force": _text(R.force),
    "year": _text(R.year_label),
    "pillar": _text(R.pillar),
    "question": _text(SECTION.c.heading),
    "created_at": iso_moment(A.created_at),
    "updated_at": iso_moment(A.updated_at),
    "closed_at": iso_moment(A.closed_at),
    "version": A.version,
    "superseded_by_action_id": A.superseded_by_action_id,
    "superseded_by_finding_id": A.superseded_by_finding_id,
}
CELLS: Columns = tuple(_CELLS[name].label(name) for name in COLUMNS)


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
    client reads; keyset positions keep batches from repeating or skipping rows. A NULL is an
    empty cell (the csv module writes None so).
    """
    as_of = filters.as_of or clock.today()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode("utf-8")
    batches = iter_row_batches(
        sessions=session_factory,
        filters=filters,
        sort=sort,
        as_of=as_of,
        batch=batch_size or BATCH_SIZE,
        columns=CELLS,
    )
    width = len(COLUMNS)
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        # Each row ends with its sort key (for the next batch's position): not a CSV column.
        writer.writerows(row[:width] for row in rows)
        yield buffer.getvalue().encode("utf-8")
