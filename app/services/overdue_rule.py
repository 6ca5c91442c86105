"""What "overdue" means, said once: an action still to be done (open, in progress or blocked)
whose due date is before the day it is judged on, unless its finding was withdrawn from the
report (nobody is held to a finding the inspectorate took back).

`OVERDUE` is the rule in SQL, `days_overdue` in Python for rows already fetched; a test holds
the two to the same answers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.enums import ActionStatus
from app.models import Action, Finding

# Statuses in which a passed due date makes an action overdue.
ACTIVE_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED)
_ACTIVE = frozenset(str(status) for status in ACTIVE_STATUSES)


def held_to_due_date(*, status: str, finding_withdrawn: bool) -> bool:
    """Whether a due date counts against this action: it is still to be done, and its finding
    is still in the report."""
    return status in _ACTIVE and not finding_withdrawn


def days_overdue(
    *, status: str, due_date: date | None, finding_withdrawn: bool, as_of: date
) -> int:
    """Whole days past due on `as_of`; 0 when the action is not overdue."""
    if due_date is None or due_date >= as_of:
        return 0
    # Runs once per row of every page: the status test inlined rather than a call.
    if status not in _ACTIVE or finding_withdrawn:
        return 0
    return (as_of - due_date).days


# The day "overdue" is judged on: a parameter of every statement that uses the rule.
AS_OF = bindparam("as_of", type_=Date())


class days_between(FunctionElement[int]):
    """Whole days from the first date to the second, as an integer, on either database."""

    type = Integer()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


_A = Action.__table__.c
_F = Finding.__table__.c


def active_as_indexed(status: ColumnElement[str]) -> ColumnElement[bool]:
    """`status` is active, the statuses written out as literal values exactly as the partial
    indexes of migration 0015 write them: with bound parameters neither SQLite nor PostgreSQL
    could tell that such an index holds every row the statement wants."""
    return status.in_([literal_column(f"'{active.value}'") for active in ACTIVE_STATUSES])


# Findings are rarely withdrawn: looked up in their own small (partial) index once per statement
# rather than by joining each action to its finding, so the rule reads the action alone.
WITHDRAWN = select(_F.id).where(_F.withdrawn_at.is_not(None))
# Marked, so that answers on a past day can read the withdrawal as it stood (app.services.as_of):
# True for "withdrawn", False for "not withdrawn".
WITHDRAWN_RULE = "afi_withdrawn_rule"
_NOT_WITHDRAWN = _A.finding_id.not_in(WITHDRAWN)._annotate({WITHDRAWN_RULE: False})
OVERDUE = and_(_A.status.in_(ACTIVE_STATUSES), _A.due_date < AS_OF, _NOT_WITHDRAWN)
# Spelled out rather than NOT(...): a NULL due date must count as "not overdue", not NULL.
NOT_OVERDUE = or_(
    _A.status.not_in(ACTIVE_STATUSES),
    _A.due_date.is_(None),
    _A.due_date >= AS_OF,
    _A.finding_id.in_(WITHDRAWN)._annotate({WITHDRAWN_RULE: True}),
)
# Days since the due date, whether or not the action is overdue: only meaningful where OVERDUE.
DAYS_PAST_DUE = days_between(_A.due_date, AS_OF)
DAYS_OVERDUE = case((OVERDUE, DAYS_PAST_DUE), else_=0)
