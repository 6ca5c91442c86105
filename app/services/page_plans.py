"""How a page's ids are found (`Plan`): the database planner's choice, or one made for it where
the planner misjudges a LIMIT; and the SQL hint that makes SQLite read in its sort's order."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Boolean, ColumnElement, Exists, Select, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.db import Reader
from app.services.action_filters import ACTION, REPORT, report_conditions


class unindexed(FunctionElement[bool]):
    """A condition SQLite is not to look up in an index (`+(...)`; plain elsewhere), so that it
    reads rows in the order of the sort's own index and stops at the page's end, rather than
    collect every matching row to sort them: with a LIMIT its planner misjudges which is less
    work. PostgreSQL's planner weighs the LIMIT itself."""

    type = Boolean()
    name = "unindexed"
    inherit_cache = True


@compiles(unindexed)
def _unindexed(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+({compiler.process(element.clauses, **kw)})"


def any_match(where: Sequence[ColumnElement[bool]]) -> Exists:
    """Whether any action meets `where`, asked once before a walk (Plan.WALK), through the
    filters' indexes: filters that match nothing (a RAG no action has yet, a combination no
    action meets) would otherwise walk the whole table to find no page. The walk's LIMIT is 0
    without one: SQLite evaluates a LIMIT once, before the loop, and skips a loop of none (a
    condition in WHERE it tests on every row walked)."""
    return select(literal_column("1")).select_from(ACTION).where(*where).correlate(None).exists()


class Plan(StrEnum):
    """How a page's ids are found: the planner's choice, or one made for it."""

    SEEK = "seek"  # as the database's planner chooses
    WALK = "walk"  # SQLite: in the sort's index order, stopping at the page's end (`unindexed`)
    COLLECT = "collect"  # PostgreSQL: every match through the filters' indexes, then sorted
    # SQLite, a search by id: the full-text index's matches in its own (id) order, each joined
    # to its action and tested against the other filters, stopping at the page's end, rather
    # than every match collected first (90,000 for a common word at 1M actions).
    SEARCH = "search"
    # A past day, by a key the action table's indexes do not hold as it stood (days overdue):
    # the ids from the states that held alone, in one pass over ix_action_state_held keeping
    # the page's best, rather than each action joined to its state before they are sorted.
    STATES = "states"
    # A past day's overdue actions by days overdue: the states walked in due-date order through
    # ix_action_state_due_date from the earliest (latest) due date, stopping at the page's end.
    STATES_BY_DUE = "states_by_due"
    # A past day by due date or priority: the states walked in the sort's order through
    # ix_action_state_due_sort or ix_action_state_priority_rank from the page's position,
    # keeping those that held, stopping at the page's end.
    STATES_IN_ORDER = "states_in_order"


# Shapes with one of these filters select few enough actions that finding them through an index
# and sorting them beats reading in sort order (on SQLite; see `unindexed`).
_POINTED = frozenset({"owner_id", "report_id", "q"})
# Report filters select that few when they match at most this share of the reports. PostgreSQL
# weighs a LIMIT itself, but as if matches were spread evenly over the sort order; a report's
# actions sit together in it (they are imported together), so for report filters this narrow
# it reads far more of the order than it expects: it is told to collect the matches instead.
_FEW_REPORTS = {"sqlite": 0.02, "postgresql": 0.005}


# On a past day, filters that leave so few states that walking them in a sort's order would
# read most of the index to fill a page: those are collected and sorted (Plan.STATES).
_FEW_STATES = frozenset({"owner_id", "report_id"})


# On a past day, sorts whose key the states hold in order in an index of their own (0032).
_STATES_SORTED = frozenset({"due_date", "priority"})


def past_plan(
    db: Reader, shape: tuple[str, ...], params: dict[str, Any], *, sort_field: str
) -> Plan:
    """How a page of a past day is best read, in the order of `sort_field`. By id, an owner's
    or a report's states that held, from the index that starts with the owner or the report
    (0024, 0027), rather than every action in id order joined to its state to find the few the
    owner held then. By due date or priority, the states walked in that order (0032), an
    owner's through the owner's indexes in that order, unless the filters leave few states,
    which are collected and sorted. A search, and the other sorts, as today's page."""
    by_id = sort_field == "id"
    if by_id and _FEW_STATES.intersection(shape):
        return Plan.STATES
    if sort_field in _STATES_SORTED and "q" not in shape:
        # An owner's states have indexes of their own in these orders too (0032).
        owners = "owner_id" in shape and "report_id" not in shape
        if owners or not _leaves_few_states(db, shape, params):
            return Plan.STATES_IN_ORDER
        return Plan.STATES
    return plan_for(db, shape, params, by_id=by_id)


def past_overdue_plan(db: Reader, shape: tuple[str, ...], params: dict[str, Any]) -> Plan:
    """How a past day's overdue actions are read in order of days overdue: walked in due-date
    order unless the filters leave few states, which are collected and sorted."""
    return Plan.STATES if _leaves_few_states(db, shape, params) else Plan.STATES_BY_DUE


def _leaves_few_states(db: Reader, shape: tuple[str, ...], params: dict[str, Any]) -> bool:
    """Whether an owner, a report or report filters matching few reports leave so few states
    that a walk of an index in the sort's order would read most of it to fill a page."""
    if _FEW_STATES.intersection(shape):
        return True
    dialect = dialect_of(db)
    if not report_conditions(shape) or dialect not in _FEW_REPORTS:
        return False
    return _few_reports(db, dialect, shape, params)


def plan_for(
    db: Reader, shape: tuple[str, ...], params: dict[str, Any], *, by_id: bool = False
) -> Plan:
    """How a page of this shape is best read (see Plan); `by_id`: the page is in id order."""
    dialect = dialect_of(db)
    if dialect == "sqlite" and _POINTED.intersection(shape):
        return Plan.SEARCH if by_id and _walk_search(db, shape, params) else Plan.SEEK
    if not report_conditions(shape):
        return Plan.WALK if dialect == "sqlite" else Plan.SEEK
    if dialect not in _FEW_REPORTS or (dialect != "sqlite" and _POINTED.intersection(shape)):
        return Plan.SEEK
    few = _few_reports(db, dialect, shape, params)
    if dialect == "sqlite":
        return Plan.SEEK if few else Plan.WALK
    return Plan.COLLECT if few else Plan.SEEK


def _walk_search(db: Reader, shape: tuple[str, ...], params: dict[str, Any]) -> bool:
    """Whether a search's matches are best read in the index's order (Plan.SEARCH): unless an
    owner, a report or a few reports' filters narrow them more than the search does."""
    if "q" not in shape or _POINTED.intersection(shape) - {"q"}:
        return False
    return not report_conditions(shape) or not _few_reports(db, "sqlite", shape, params)


# The reports that report filters match, and all reports, kept a while per database and
# filter values: they only choose a plan, never the answer, and counting them took longer than
# the page itself on PostgreSQL (10 to 30 ms at 40,000 reports, against 2 to 8 ms); the next
# request, or a cursor's later pages, ask again with the same values.
_kept_shares: TTLCache[tuple[Any, ...], tuple[int, int]] = TTLCache(maxsize=512, ttl=300)
_kept_lock = threading.Lock()
_REPORT_PARAMS = ("force", "year", "start_year", "programme", "pillar")


def _few_reports(db: Reader, dialect: str, shape: tuple[str, ...], params: dict[str, Any]) -> bool:
    matching, total = _report_share(db, shape, params)
    return not total or matching <= _FEW_REPORTS[dialect] * total


def _report_share(db: Reader, shape: tuple[str, ...], params: dict[str, Any]) -> tuple[int, int]:
    key = (_database(db), shape, *(params.get(name) for name in _REPORT_PARAMS))
    with _kept_lock:
        kept = _kept_shares.get(key)
    if kept is not None:
        return kept
    counts = db.execute(_report_share_statement(shape), params).one()
    share = int(counts.matching), int(counts.total)
    with _kept_lock:
        _kept_shares[key] = share
    return share


@lru_cache(maxsize=64)
def _report_share_statement(shape: tuple[str, ...]) -> Select[tuple[int, int]]:
    reports = select(func.count()).select_from(REPORT)
    return select(
        reports.where(*report_conditions(shape)).scalar_subquery().label("matching"),
        reports.scalar_subquery().label("total"),
    )


def dialect_of(db: Reader) -> str:
    """The name of the database `db` reads (`sqlite`, `postgresql`)."""
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name


def _database(db: Reader) -> str:
    bind = db.get_bind() if isinstance(db, Session) else db
    return str(bind.engine.url)
