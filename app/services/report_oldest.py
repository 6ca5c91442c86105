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
from sqlalchemy import ColumnElement, Select, func, lateral, select, true
from sqlalchemy.orm import Session

from app.db import Reader
from app.services.action_filters import A, R
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN, active_as_indexed

_ACTIVE = frozenset(status.value for status in ACTIVE_STATUSES)


class Oldest(NamedTuple):
    due_date: date
    action_id: int
    reference: str


def _first_overdue(statuses: tuple[str, ...], as_of: date) -> Select[Any]:
    """The first overdue action of the report in the enclosing statement (`R.id`)."""
    wanted: list[ColumnElement[bool]] = []
    if not set(statuses) >= _ACTIVE:
        wanted.append(A.status.in_(statuses))
    return (
        select(A.id, A.due_date, A.reference)
        .where(
            A.report_id == R.id,
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
    first = _first_overdue(statuses, as_of).correlate(R.id.table)
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
    # One seek per report, its three values as one JSON array: a scalar subquery gives one
    # value, and three subqueries would seek three times.
    seek_json = first.with_only_columns(func.json_array(A.due_date, A.id, A.reference))
    found: dict[int, Oldest] = {}
    for report_id, values in db.execute(select(R.id, seek_json.scalar_subquery())):
        if values is not None:  # a report with none overdue
            due, action_id, reference = orjson.loads(values)
            found[report_id] = Oldest(date.fromisoformat(due), action_id, reference)
    return found
