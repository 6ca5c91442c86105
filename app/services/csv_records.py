"""Each action as one CSV record (RFC 4180, CRLF included), written by the database: Python
only joins records, so that a million rows take seconds rather than a Python loop over every
value. Text cells are always quoted (so "" is empty text and an empty cell is NULL), values
are bare, and text a spreadsheet would run as a formula gets a leading '."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    LargeBinary,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType

from app.services.action_filters import OWNER, SECTION, A, F, R
from app.services.overdue_rule import DAYS_PAST_DUE, OVERDUE
from app.services.stale_rule import STALE

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
# (is_overdue and days_overdue: _overdue_cells.)
_VALUE_CELLS: dict[str, ColumnElement[Any]] = {
    "id": A.id,
    "status": A.status,
    "priority": A.priority,
    "due_date": iso_day(A.due_date),
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
if COLUMNS[COLUMNS.index("is_overdue") + 1] != "days_overdue":
    raise RuntimeError("is_overdue and days_overdue are written together: keep them side by side")
# The cells each written on its own: days_overdue comes with is_overdue (_overdue_cells).
_WRITTEN = tuple(name for name in COLUMNS if name != "days_overdue")
_QUOTE = literal_column("'\"'", String)
_NOTHING = literal_column("''", String)


def _may_be_null(element: ColumnElement[Any]) -> bool:
    # A column of an outer join (owner, report, section) or a computed value may be NULL.
    if not isinstance(element, Column) or element.nullable:
        return True
    return element.table not in (A.id.table, F.id.table)


def _text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """User-written text, kept from being run as a formula: such a cell gets a leading '.
    Every formula start is below 'A' (65): text starting with a letter is let through by
    ascii() alone, without substr() and the list."""
    starts = and_(func.ascii(column) < 65, func.substr(column, 1, 1).in_(FORMULA_STARTS))
    return case((starts, literal("'") + column), else_=column)


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


def _overdue_cells() -> ColumnElement[str]:
    """is_overdue and days_overdue, comma between, from one test of the rule (its costliest
    part: the withdrawn findings are looked up once per statement for each test)."""
    return case(
        (OVERDUE, literal_column("'true,'", String).concat(DAYS_PAST_DUE)),
        else_=literal_column("'false,0'", String),
    )


def _concatenated_record(names: tuple[str, ...], before: str, after: str) -> ColumnElement[str]:
    """The cells `names` as one string joined by `||`, between the texts `before` and `after`."""
    cells = [_overdue_cells() if name == "is_overdue" else _cell(name) for name in names]
    record = literal(before) + cells[0] if before else cells[0]
    for cell in cells[1:]:
        record = record + literal_column("','", String) + cell
    return record + literal(after)


def _formula_mark(column: ColumnElement[Any]) -> ColumnElement[str]:
    """' before text a spreadsheet would run as a formula; NULL (nothing) before other text.
    Every formula start sorts before 'A' (in bytes; these columns have no collation), so most
    text, which starts with a letter, is let through by one comparison, without a substr()."""
    first = func.substr(column, 1, 1)
    starts = and_(column < literal_column("'A'", String), first.in_(FORMULA_STARTS))
    return case((starts, literal_column("''''", String)))


if max(FORMULA_STARTS) >= "A":
    raise RuntimeError("a formula start at or after 'A': _formula_mark would let it through")


def _printf_record(names: tuple[str, ...], before: str, after: str) -> ColumnElement[bytes]:
    """SQLite: the cells `names` (between `before` and `after`) from one printf() call, the
    cells in its format string. `%w` doubles the double quotes of text; `%s` writes NULL as
    nothing. Each function call and `||` costs SQLite an allocation and a copy per row: this
    has a third of the old record's calls."""
    formats: list[str] = []
    values: list[ColumnElement[Any]] = []
    for name in names:
        if name == "is_overdue":
            formats.append("%s")
            values.append(_overdue_cells())
        elif name not in _TEXT_CELLS:
            formats.append("%s")
            values.append(_VALUE_CELLS[name])
        elif _may_be_null(column := _TEXT_CELLS[name]):
            # `%w` would write NULL as "(NULL)": an empty cell instead.
            formats.append("%s")
            quoted = func.printf(literal('"%s%w"', String), _formula_mark(column), column)
            values.append(case((column.is_not(None), quoted)))
        else:
            formats.append('"%s%w"')
            values.extend((_formula_mark(column), column))
    template = before.replace("%", "%%") + ",".join(formats) + after.replace("%", "%%")
    record = func.printf(literal(template, String), *values)
    # As a BLOB the driver hands over the UTF-8 bytes as they are: nothing to decode or encode.
    return cast(record, LargeBinary)


class _by_dialect(FunctionElement[Any]):
    """The first expression on SQLite, the second on other databases. Both are children of
    this element, so that a rewrite of the statement (app.services.as_of) reaches either."""

    type = NullType()
    name = "by_dialect"
    inherit_cache = True


@compiles(_by_dialect)
def _by_dialect_other(element: _by_dialect, compiler: SQLCompiler, **kw: Any) -> str:
    _sqlite, other = element.clauses
    return compiler.process(other, **kw)


@compiles(_by_dialect, "sqlite")
def _by_dialect_sqlite(element: _by_dialect, compiler: SQLCompiler, **kw: Any) -> str:
    sqlite, _other = element.clauses
    return compiler.process(sqlite, **kw)


def _record(names: tuple[str, ...], before: str, after: str, label: str) -> ColumnElement[Any]:
    """The cells `names` between `before` and `after`: UTF-8 bytes on SQLite, text on
    PostgreSQL."""
    return _by_dialect(
        _printf_record(names, before, after), _concatenated_record(names, before, after)
    ).label(label)


# One record per action.
RECORD = _record(_WRITTEN, "", "\r\n", "record")

# On a past day the progress note is not the row's (app.services.past_progress): the record in
# two parts, the cells before the note and those after it, for the note to be written between.
_NOTE_AT = _WRITTEN.index("progress_note")
RECORD_BEFORE_NOTE = _record(_WRITTEN[:_NOTE_AT], "", ",", "before_note")
RECORD_AFTER_NOTE = _record(_WRITTEN[_NOTE_AT + 1 :], ",", "\r\n", "after_note")
NOTE = A.progress_note


def text_cell(text: str | None) -> str:
    """A text cell as the records write one (_cell, _printf_record): empty for none, else in
    double quotes (doubled inside), with a leading ' before a formula start."""
    if text is None:
        return ""
    mark = "'" if text.startswith(FORMULA_STARTS) else ""
    return '"' + mark + text.replace('"', '""') + '"'
