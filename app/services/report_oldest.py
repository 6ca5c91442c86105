"""Each report's oldest overdue action today, one short seek per report.

`ix_action_report_overdue` (migration 0015) holds the active actions with a due date by report,
due date and id, then status, finding and reference: a report's oldest overdue action (earliest
due date, lowest id that day) is the first entry of its range that the rest of the rule lets
through (status wanted, finding not withdrawn), read from the index alone. Tens of thousands
of seeks cost less than the walk of every overdue action in due-date order that the few groups
of the other dimensions take (app.services.stats_tallied).

SQLite has no LATERAL: there the seek is a correlated subquery giving the three values as one
JSON array; PostgreSQL joins the seek laterally.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, Select, lateral, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.db import Reader
from app.services.action_filters import A, R
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN, active_as_indexed

_ACTIVE = frozenset(status.value for status in ACTIVE_STATUSES)


class json_array(FunctionElement[str]):
    """A JSON array of the values, as text, on either database."""

    name = "json_array"
    inherit_cache = True


@compiles(json_array)
def _json_array_postgresql(element: json_array, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(json_build_array({compiler.process(element.clauses, **kw)}) AS TEXT)"


@compiles(json_array, "sqlite")
def _json_array_sqlite(element: json_array, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


class Oldest(NamedTuple):
    due_date: date
    action_id: int
    reference: str


def first_overdue(
    statuses: tuple[str, ...], as_of: date, report_id: ColumnElement[int] = R.id
) -> Select[Any]:
    """The first overdue action of the report in the enclosing statement (`report_id`)."""
    wanted: list[ColumnElement[bool]] = []
    if not set(statuses) >= _ACTIVE:
        wanted.append(A.status.in_(statuses))
    return (
        select(A.id, A.due_date, A.reference)
        .where(
            A.report_id == report_id,
            active_as_indexed(A.status),
            A.due_date < as_of,
            *wanted,
            A.finding_id.not_in(WITHDRAWN),
        )
        .order_by(A.due_date, A.id)
        .limit(1)
    )


def oldest_per_report(*, db: Reader, statuses: tuple[str, ...], as_of: date) -> dict[int, Oldest]:
    """Per report with any, its oldest action overdue on `as_of` among the active `statuses`."""
    first = first_overdue(statuses, as_of).correlate(R.id.table)
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name == "postgresql":
        seek = lateral(first, name="first_overdue")
        statement = select(R.id, seek.c.due_date, seek.c.id, seek.c.reference).join_from(
            R.id.table, seek, true()
        )
        return {
            report_id: Oldest(due, action_id, reference)
            for report_id, due, action_id, reference in db.execute(statement)
        }
    found: dict[int, Oldest] = {}
    for report_id, values in db.execute(select(R.id, as_json_array(first))):
        oldest = from_json_array(values)
        if oldest is not None:  # else a report with none overdue
            found[report_id] = oldest
    return found


def as_json_array(first: Select[Any]) -> ColumnElement[Any]:
    """`first_overdue` (correlated) as one value (SQLite has no LATERAL): its three values as
    a JSON array. A scalar subquery gives one value, and three subqueries would seek three
    times."""
    return first.with_only_columns(json_array(A.due_date, A.id, A.reference)).scalar_subquery()


def from_json_array(values: str | None) -> Oldest | None:
    """The values of `as_json_array`; None for a report with none overdue."""
    if values is None:
        return None
    due, action_id, reference = orjson.loads(values)
    return Oldest(date.fromisoformat(due), action_id, reference)
