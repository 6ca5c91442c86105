"""Actions as CSV (RFC 4180): streamed in keyset batches, never the whole result in memory;
every record written by the database, quoting included, so that a million rows take seconds."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.schemas.filters import ActionFilters, ActionSort
from app.services.action_filters import OWNER, SECTION, A, F, R
from app.services.action_pages import Columns
from app.services.action_reads import iter_row_batches
from app.services.overdue_rule import DAYS_OVERDUE, OVERDUE
from app.services.stale_rule import STALE

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
    # Added last, so that existing consumers keep their positions.
    "rag",
    "percent_complete",
    "last_progress_at",
    "stale",
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


# Text people wrote: any character may appear, so every such cell is quoted.
_TEXT_CELLS: dict[str, ColumnElement[Any]] = {
    "reference": A.reference,
    "title": A.title,
    "description": A.description,
    "owner_name": OWNER.c.name,
    "owner_email": OWNER.c.email,
    "owner_team": OWNER.c.team,
    "progress_note": A.progress_note,
    "finding_reference": F.reference,
    "force": R.force,
    "year": R.year_label,
    "pillar": R.pillar,
    "question": SECTION.c.heading,
}
# Values the service makes (numbers, dates, names of states): never a comma, quote or line break.
_VALUE_CELLS: dict[str, ColumnElement[Any]] = {
    "id": A.id,
    "status": A.status,
    "priority": A.priority,
    "due_date": iso_day(A.due_date),
    "is_overdue": case((OVERDUE, "true"), else_="false"),
    "days_overdue": DAYS_OVERDUE,
    "owner_id": A.owner_id,
    "finding_id": A.finding_id,
    "kind": F.kind,
    "report_id": A.report_id,
    "created_at": iso_moment(A.created_at),
    "updated_at": iso_moment(A.updated_at),
    "closed_at": iso_moment(A.closed_at),
    "version": A.version,
    "superseded_by_action_id": A.superseded_by_action_id,
    "superseded_by_finding_id": A.superseded_by_finding_id,
    "rag": A.rag,
    "percent_complete": A.percent_complete,
    "last_progress_at": iso_moment(A.last_progress_at),
    "stale": case((STALE, "true"), else_="false"),
}
_QUOTE = literal_column("'\"'", String)
_NOTHING = literal_column("''", String)


def _may_be_null(element: ColumnElement[Any]) -> bool:
    # A column of an outer join (owner, report, section) or a computed value may be NULL.
    if not isinstance(element, Column) or element.nullable:
        return True
    return element.table not in (A.id.table, F.id.table)


def _cell(name: str) -> ColumnElement[str]:
    """A column as a CSV cell: text in double quotes (doubled inside) so that no scan for
    special characters is needed; a value as it is; NULL empty, told apart from empty text.
    COALESCE and CAST only where needed: each costs on every one of a million rows."""
    if name in _TEXT_CELLS:
        column = _TEXT_CELLS[name]
        text = _text(column)
        cell = _QUOTE + func.replace(text, _QUOTE, literal_column("'\"\"'", String)) + _QUOTE
    else:
        column = _VALUE_CELLS[name]
        cell = column if isinstance(column.type, String) else cast(column, Text)
    return func.coalesce(cell, _NOTHING) if _may_be_null(column) else cell


def _record() -> ColumnElement[str]:
    """One CSV record, CRLF included, as a single string from the database: Python only joins
    records, so the rate is the database's rather than a Python loop's over every value."""
    record = _cell(COLUMNS[0])
    for name in COLUMNS[1:]:
        record = record + literal_column("','", String) + _cell(name)
    return record + literal("\r\n")


# The id first: the keyset position is read from it.
RECORD: Columns = (A.id, _record().label("record"))
_RECORD_TEXT = itemgetter(1)


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
        columns=RECORD,
    )
    for rows in batches:
        yield "".join(map(_RECORD_TEXT, rows)).encode("utf-8")
