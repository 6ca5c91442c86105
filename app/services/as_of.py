"""Answers as they stood on a past day: the action queries read each action's state at the end
of that day (app.services.states) in place of its row.

A statement written against the action table (a page, a count, the stats, the overdue summary)
is rewritten once per statement (and cached): the action table becomes "the actions as they
stood", a derived table with the action's column names whose changing fields come from the state
that held at the end of the day (parameter `state_cutoff`, from `cutoff_params`). Actions made
after that day are not in it. The rule that a withdrawn finding's actions are not overdue reads
the state's own withdrawal (`finding_withdrawn_at`) rather than today's.

Only a day before today is read from the states: on today (and on a later day, for which
nothing newer is known) the action's row is its state.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Alias,
    ColumnClause,
    ColumnElement,
    Subquery,
    Table,
    and_,
    bindparam,
    select,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement

from app import clock
from app.models import Action, Finding
from app.models.state import STILL_VALID
from app.services.overdue_rule import WITHDRAWN_RULE
from app.services.states import COPIED, STATE, day_end

_ACTION = cast(Table, Action.__table__)
_FINDING = cast(Table, Finding.__table__)
S = STATE.c

CUTOFF = bindparam("state_cutoff", type_=S.valid_from.type)
# The columns the state alone gives, under the action's names.
_OWN = frozenset({"id", *COPIED})

Statement = TypeVar("Statement", bound=ClauseElement)


def is_past(as_of: date | None) -> bool:
    """Whether answers on `as_of` come from the states (a day before today)."""
    return as_of is not None and as_of < clock.today()


def cutoff_params(as_of: date) -> dict[str, Any]:
    """The parameter every rewritten statement takes: the end of `as_of` (none is needed when
    the day is not a past one)."""
    return {"state_cutoff": day_end(as_of)} if is_past(as_of) else {}


# Annotation of the action's id in a bound on it (app.services.action_pages: a page after a
# cursor in id order): on a past day it reads the state's own copy of the id (see `state_id`).
_STATE_ID = "afi_state_id"


def state_id(action_id: ColumnElement[int]) -> ColumnElement[int]:
    """The action's id, read on a past day from the state joined to the action (the join's other
    side) rather than from the action: a bound on it is then a range of the state's index on
    the action, which neither planner infers from the join. PostgreSQL walked that index from
    the first action to a page's cursor (a past day's Kent by id, page 20: 60 ms at 1M)."""
    return action_id._annotate({_STATE_ID: True})


def holding(state: Any) -> ColumnElement[bool]:
    """`state` (the table or an alias) held at the end of the day: begun before, ended after."""
    return and_(state.c.valid_from < CUTOFF, state.c.valid_to >= CUTOFF)


# Which states a rewritten statement reads (app.services.state_delta): those that held at the
# end of the day; the current ones begun after it; the ended ones that held at it.
HELD, RECENT, ENDED = "held", "recent", "ended"


def _states(state: Any, which: str) -> ColumnElement[bool]:
    if which == HELD:
        return holding(state)
    still = bindparam("still_valid", STILL_VALID, type_=state.c.valid_to.type)
    if which == RECENT:
        # Ranges of ix_action_state_held (valid_to, valid_from), as `holding` is.
        return and_(state.c.valid_to == still, state.c.valid_from >= CUTOFF)
    return and_(state.c.valid_to >= CUTOFF, state.c.valid_to < still, state.c.valid_from < CUTOFF)


def _stood(name: str, *, joined: bool, which: str = HELD) -> Subquery:
    """The actions as they stood: the state's columns alone, or joined to the action's others."""
    state = STATE.alias(f"{name}_state")
    if not joined:
        columns: list[Any] = [state.c.action_id.label("id")]
        columns += [state.c[column] for column in COPIED]
        columns.append(state.c.finding_withdrawn_at)
        # Counts read most states that hold (all current ones on a recent day), from the
        # range of ix_action_state_held, which holds every column they read (migration 0016).
        return select(*columns).where(_states(state, which)).subquery(name)
    columns = [
        state.c[column.name].label(column.name) if column.name in COPIED else column
        for column in _ACTION.c
    ]
    columns += [state.c.finding_withdrawn_at, state.c.action_id.label("state_action_id")]
    source = _ACTION.join(state, and_(state.c.action_id == _ACTION.c.id, _states(state, which)))
    return select(*columns).select_from(source).subquery(name)


def _action_columns(statement: ClauseElement) -> set[str]:
    names = set()
    for element in visitors.iterate(statement):
        if isinstance(element, ColumnClause) and _is_action(element.table):
            names.add(element.name)
    return names


def _is_action(source: Any) -> bool:
    return source is _ACTION or (isinstance(source, Alias) and source.element is _ACTION)


@lru_cache(maxsize=512)
def _rewritten(statement: ClauseElement, which: str = HELD) -> ClauseElement:
    joined = not _action_columns(statement) <= _OWN
    stood: dict[Any, Subquery] = {}

    def stood_for(source: Any) -> Subquery:
        if source not in stood:
            name = "action_at" if source is _ACTION else f"{source.name}_at"
            stood[source] = _stood(name, joined=joined, which=which)
        return stood[source]

    def replace(element: Any, **_: Any) -> Any:
        if _is_action(element):
            return stood_for(element)
        if isinstance(element, ColumnClause) and _is_action(element.table):
            if element._annotations.get(_STATE_ID):
                stood_at = stood_for(element.table).c
                return stood_at.state_action_id if joined else stood_at.id
            return stood_for(element.table).c[element.name]
        if (
            isinstance(element, ColumnClause)
            and element.table is _FINDING
            and element.name == "withdrawn_at"
        ):
            return stood_for(_ACTION).c.finding_withdrawn_at
        rule = getattr(element, "_annotations", {}).get(WITHDRAWN_RULE)
        if rule is not None:
            # `finding_id [NOT] IN (withdrawn findings)`, on the action table or an alias of it.
            withdrawn_at = stood_for(element.left.table).c.finding_withdrawn_at
            return withdrawn_at.is_not(None) if rule else withdrawn_at.is_(None)
        return None

    return cast(ClauseElement, visitors.replacement_traverse(statement, {}, replace))


def on_states_of(statement: Statement, which: str) -> Statement:
    """`statement` rewritten to read the `which` states (HELD, RECENT or ENDED) in place of the
    actions, whatever the day; run it with `cutoff_params` of a past day."""
    return cast(Statement, _rewritten(statement, which))


def at_day(statement: Statement, as_of: date | None) -> Statement:
    """`statement` as it reads on `as_of`: rewritten to the states for a past day, else as is.
    Run it with `cutoff_params(as_of)` among its parameters."""
    if not is_past(as_of):
        return statement
    return cast(Statement, _rewritten(statement))


@lru_cache(maxsize=256)
def on_states(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """A condition on the action table (the list's filters) as a condition on a row of the
    states table itself, for answers over many days at once (the trend): the state's own
    columns, the action's id as `action_id`, and the state's withdrawal."""

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, ColumnClause) and element.table is _ACTION:
            if element.name not in _OWN:
                raise ValueError(f"the states do not keep action.{element.name}")
            return S.action_id if element.name == "id" else S[element.name]
        rule = getattr(element, "_annotations", {}).get(WITHDRAWN_RULE)
        if rule is not None:
            return S.finding_withdrawn_at.is_not(None) if rule else S.finding_withdrawn_at.is_(None)
        return None

    rewritten: ColumnElement[bool] = visitors.replacement_traverse(clause, {}, replace)
    return rewritten
