"""The read path for actions: one SQL statement per page, rows straight to plain dicts.

Paging is keyset (no OFFSET): a page is "the next `limit` rows after this (sort key, id)", so
rows added or removed between pages neither repeat nor skip the rows that stay. The position
travels as an opaque cursor tied to the sort, the filters and the day "overdue" is judged on
(encoded and checked in app.services.cursors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.db import Reader
from app.enums import ActionStatus
from app.errors import InvalidInput
from app.models import Action, Finding, Owner, Report, Section
from app.models.action import FAR_FUTURE
from app.schemas.queries import ActionFilters, ActionSort
from app.services.cursors import (
    Cursor,
    InvalidCursor,
    Position,
    decode_cursor,
    encode_cursor,
    filters_fingerprint,
)
from app.services.search import parse as parse_search
from app.services.search_index import matching_ids, ranked_matches, search_params

# Statuses in which a passed due date makes an action overdue.
ACTIVE_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED)


# Core columns, not ORM attributes: a statement made of ORM attributes goes through the ORM's
# compile and loading machinery, which costs more than the query itself on a page of rows.
_ACTION = Action.__table__
_FINDING = Finding.__table__
_REPORT = Report.__table__
_SECTION = Section.__table__
_OWNER = Owner.__table__
A = _ACTION.c
F = _FINDING.c
R = _REPORT.c

_COLUMNS = (
    A.id,
    A.reference,
    A.title,
    A.description,
    A.finding_id,
    F.reference.label("finding_reference"),
    F.kind,
    F.report_id,
    R.force,
    R.year_label.label("year"),
    R.pillar,
    _SECTION.c.heading.label("question"),
    A.owner_id,
    A.status,
    A.priority,
    A.due_date,
    A.progress_note,
    A.created_at,
    A.updated_at,
    A.closed_at,
    A.version,
    A.superseded_by_action_id,
    A.superseded_by_finding_id,
    F.withdrawn_at.label("finding_withdrawn_at"),
    # Last, so that rows map to dicts by zip() without them; see _to_dict.
    _OWNER.c.name.label("owner_name"),
    _OWNER.c.email.label("owner_email"),
    _OWNER.c.team.label("owner_team"),
)

# Every filter can rely on these joins (finding and report are never NULL for an action).
FILTERABLE = _ACTION.join(_FINDING, A.finding_id == F.id).join(_REPORT, F.report_id == R.id)
_BASE = select(*_COLUMNS).select_from(
    FILTERABLE.outerjoin(_SECTION, F.section_id == _SECTION.c.id).outerjoin(
        _OWNER, A.owner_id == _OWNER.c.id
    )
)


_SELECTED = tuple(_BASE.selected_columns.keys())
_OWNER_AT = _SELECTED.index("owner_name")
_NAMES = _SELECTED[:_OWNER_AT]
if _SELECTED[_OWNER_AT:] != ("owner_name", "owner_email", "owner_team"):
    raise RuntimeError("_to_dict reads the owner's columns last; keep them last in _COLUMNS")


# --- overdue -------------------------------------------------------------------------------

# The day "overdue" is judged on: a parameter of every statement (see FilterValues.params).
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


# Past due and still to be done. An action whose finding the report no longer contains
# (withdrawn on re-import) is not held against anyone. Needs Finding joined.
OVERDUE = and_(A.status.in_(ACTIVE_STATUSES), A.due_date < AS_OF, F.withdrawn_at.is_(None))
# Spelled out rather than NOT(...): a NULL due date must count as "not overdue", not NULL.
NOT_OVERDUE = or_(
    A.status.not_in(ACTIVE_STATUSES),
    A.due_date.is_(None),
    A.due_date >= AS_OF,
    F.withdrawn_at.is_not(None),
)
DAYS_OVERDUE = case((OVERDUE, days_between(A.due_date, AS_OF)), else_=0)


# --- filters -------------------------------------------------------------------------------

# Every filter is one condition with named parameters. Statements are built once per
# combination of filters given (a "shape") and run with each request's values, so SQLAlchemy
# neither rebuilds them nor walks them again to find their compiled form.
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "statuses": A.status.in_(bindparam("statuses", expanding=True)),
    "priorities": A.priority.in_(bindparam("priorities", expanding=True)),
    "owner_id": A.owner_id == bindparam("owner_id"),
    "unassigned": A.owner_id.is_(None),
    "assigned": A.owner_id.is_not(None),
    "force": func.lower(R.force) == bindparam("force"),
    # "2018/19" matches the year as written; "2018" also matches a report for 2018/19.
    "year": or_(R.year_label == bindparam("year"), R.start_year == bindparam("start_year")),
    "programme": func.lower(R.programme) == bindparam("programme"),
    "pillar": func.lower(R.pillar) == bindparam("pillar"),
    "report_id": F.report_id == bindparam("report_id"),
    "kind": F.kind == bindparam("kind"),
    "overdue": OVERDUE,
    "not_overdue": NOT_OVERDUE,
    "due_before": A.due_date < bindparam("due_before"),
    "due_after": A.due_date > bindparam("due_after"),
    # The full-text index gives the candidates (app.services.search_index).
    "q": A.id.in_(matching_ids()),
}


class FilterValues(NamedTuple):
    """Filters as SQL: which conditions apply, and the parameters to run them with."""

    shape: tuple[str, ...]
    params: dict[str, Any]


def filter_values(*, filters: ActionFilters, as_of: date) -> FilterValues:
    params: dict[str, Any] = {"as_of": as_of}
    shape: list[str] = []

    def given(name: str, value: Any) -> None:
        shape.append(name)
        params[name] = value

    if filters.statuses:
        given("statuses", list(filters.statuses))
    if filters.priorities:
        given("priorities", list(filters.priorities))
    if filters.owner_id is not None:
        given("owner_id", filters.owner_id)
    if filters.unassigned is not None:
        shape.append("unassigned" if filters.unassigned else "assigned")
    if filters.force:
        given("force", filters.force.lower())
    if filters.year:
        given("year", filters.year)
        four_digits = len(filters.year) == 4 and filters.year.isdigit()
        params["start_year"] = int(filters.year) if four_digits else None
    if filters.programme:
        given("programme", filters.programme.lower())
    if filters.pillar:
        given("pillar", filters.pillar.lower())
    if filters.report_id is not None:
        given("report_id", filters.report_id)
    if filters.kind:
        given("kind", filters.kind)
    if filters.overdue is not None:
        shape.append("overdue" if filters.overdue else "not_overdue")
    if filters.due_before is not None:
        given("due_before", filters.due_before)
    if filters.due_after is not None:
        given("due_after", filters.due_after)
    if filters.q:
        shape.append("q")
        params.update(search_params(parse_search(filters.q)))
    return FilterValues(tuple(shape), params)


def filter_conditions(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """WHERE conditions for a shape; they need Action joined to Finding and Report."""
    return [_CONDITIONS[name] for name in shape]


# --- sorting and positions -------------------------------------------------------------------


class RelevanceWithoutSearch(InvalidInput):
    def __init__(self) -> None:
        message = "sorting by relevance needs a search: give q as well"
        super().__init__(
            f"Invalid value for: sort ({message}).",
            field="sort",
            location="query",
            message=message,
        )


def sort_key(sort: ActionSort) -> ColumnElement[Any] | None:
    """The expression a sort orders by before the id tie-break; None when it is the id (or
    relevance, which is the search's own: see _search_page)."""
    field = sort.field
    if field == "due_date":
        # A literal, not a bound parameter, so that an index on this expression can serve it.
        return func.coalesce(A.due_date, literal_column(f"'{FAR_FUTURE.isoformat()}'", Date()))
    if field == "priority":
        return A.priority_rank
    if field == "updated_at":
        return A.updated_at
    if field == "reference":
        return A.reference
    if field == "days_overdue":
        return DAYS_OVERDUE
    return None


def _after(sort: ActionSort, key: ColumnElement[Any] | None) -> ColumnElement[bool]:
    last_id = bindparam("after_id", type_=Integer())
    if key is None:
        return A.id < last_id if sort.descending else A.id > last_id
    here = tuple_(key, A.id)
    there = tuple_(bindparam("after_key", type_=key.type), last_id)
    return here < there if sort.descending else here > there


def _order(sort: ActionSort, key: ColumnElement[Any] | None) -> list[Any]:
    columns: list[Any] = [A.id] if key is None else [key, A.id]
    return [column.desc() for column in columns] if sort.descending else columns


def _search_page(shape: tuple[str, ...], sort: ActionSort, after: bool) -> Select[Any]:
    """A page with a search, in two steps: the page's ids (and keys) from the few columns the
    filters and the order need, then every column of those rows only. A common word matches a
    good share of all actions, and SQLite would otherwise join and carry every column of each
    match to the sort. By relevance, the search's rank is the key and the join to the matches
    is the search condition."""
    if sort.field == "relevance":
        matches = ranked_matches().subquery("search_match")
        source = FILTERABLE.join(matches, matches.c.action_id == A.id)
        key: ColumnElement[Any] | None = matches.c.rank
        shape = tuple(name for name in shape if name != "q")
    else:
        source, key = FILTERABLE, sort_key(sort)
    ids = select(A.id) if key is None else select(A.id, key.label("sort_key"))
    ids = ids.select_from(source).where(*filter_conditions(shape))
    if after:
        ids = ids.where(_after(sort, key))
    page = (
        ids.order_by(*_order(sort, key)).limit(bindparam("limit", type_=Integer())).subquery("page")
    )
    query = _BASE.join(page, page.c.id == A.id)
    if key is not None:
        query = query.add_columns(page.c.sort_key)
    return query.order_by(*_order(sort, None if key is None else page.c.sort_key))


@lru_cache(maxsize=256)
def _page_statement(
    shape: tuple[str, ...], sort: ActionSort, after: bool
) -> Select[*tuple[Any, ...]]:
    if sort.field == "relevance" and "q" not in shape:
        raise RelevanceWithoutSearch()
    if "q" in shape:
        return _search_page(shape, sort, after)
    key = sort_key(sort)
    query = _BASE if key is None else _BASE.add_columns(key.label("sort_key"))
    query = query.where(*filter_conditions(shape))
    if after:
        query = query.where(_after(sort, key))
    return query.order_by(*_order(sort, key)).limit(bindparam("limit", type_=Integer()))


@lru_cache(maxsize=256)
def _count_statement(shape: tuple[str, ...]) -> Select[int]:
    if shape == ("q",):
        # Every action has one row in the index, and a finding and a report: count the index.
        return select(func.count()).select_from(matching_ids().subquery())
    return select(func.count()).select_from(FILTERABLE).where(*filter_conditions(shape))


# --- rows to dicts ---------------------------------------------------------------------------


_ACTIVE = frozenset(str(status) for status in ACTIVE_STATUSES)


def _to_dict(values: Sequence[Any], as_of: date) -> dict[str, Any]:
    # Runs once per row of every page: kept to plain dict operations, days overdue included.
    # zip() stops at the owner's columns (and the sort key after them).
    data = dict(zip(_NAMES, values, strict=False))
    owner_id = data["owner_id"]
    at = _OWNER_AT
    data["owner"] = (
        {"id": owner_id, "name": values[at], "email": values[at + 1], "team": values[at + 2]}
        if owner_id is not None
        else None
    )
    due = data["due_date"]
    overdue = (
        (as_of - due).days
        if due is not None
        and due < as_of
        and data["status"] in _ACTIVE
        and data["finding_withdrawn_at"] is None
        else 0
    )
    data["is_overdue"] = overdue > 0
    data["days_overdue"] = overdue
    return data


_ONE = _BASE.where(A.id == bindparam("action_id"))
_MANY = _BASE.where(A.id.in_(bindparam("action_ids", expanding=True)))


def many_actions(*, db: Reader, action_ids: Sequence[int], as_of: date) -> list[dict[str, Any]]:
    """The actions with these ids, in one statement, in the order of `action_ids`."""
    by_id = {row[0]: _to_dict(row, as_of) for row in db.execute(_MANY, {"action_ids": action_ids})}
    return [by_id[action_id] for action_id in action_ids if action_id in by_id]


def one_action(*, db: Reader, action_id: int, as_of: date) -> dict[str, Any] | None:
    """One action as the dict an ActionOut is made from; None if there is no such action."""
    row = db.execute(_ONE, {"action_id": action_id}).first()
    return None if row is None else _to_dict(row, as_of)


# --- pages -----------------------------------------------------------------------------------


def fetch_batch(
    *,
    db: Reader,
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    after: Position | None,
    limit: int,
) -> tuple[list[dict[str, Any]], Position | None]:
    """Up to `limit` actions after `after`, in one statement; and the position to continue from
    (None when there are no more)."""
    shape, params = filter_values(filters=filters, as_of=as_of)
    params["limit"] = limit + 1
    if after is not None:
        params["after_key"], params["after_id"] = after.key, after.last_id
    statement = _page_statement(shape, sort, after is not None)
    rows = db.execute(statement, params).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = Position(None if sort.field == "id" else last[-1], last[0])
    return [_to_dict(row, as_of) for row in rows], following


def iter_batches(
    *,
    sessions: Callable[[], AbstractContextManager[Session]],
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    batch: int = 500,
) -> Iterator[list[dict[str, Any]]]:
    """Every matching action, `batch` at a time by keyset; each batch is read in a session from
    `sessions()`, which is left before the batch is yielded."""
    after = None
    while True:
        with sessions() as session:
            items, after = fetch_batch(
                db=session, filters=filters, sort=sort, as_of=as_of, after=after, limit=batch
            )
        yield items
        if after is None:
            return


def iter_actions(
    *,
    session: Session,
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    batch: int = 500,
) -> Iterator[dict[str, Any]]:
    """Every matching action, fetched `batch` at a time by keyset, all in the caller's session."""
    batches = iter_batches(
        sessions=lambda: nullcontext(session), filters=filters, sort=sort, as_of=as_of, batch=batch
    )
    for items in batches:
        yield from items


def count_actions(*, db: Reader, filters: ActionFilters, as_of: date) -> int:
    shape, params = filter_values(filters=filters, as_of=as_of)
    return db.scalar(_count_statement(shape), params) or 0


def list_page(
    *,
    db: Reader,
    filters: ActionFilters,
    sort: ActionSort = ActionSort.ID,
    limit: int = 50,
    cursor: str | None = None,
    count: bool = False,
) -> dict[str, Any]:
    """One page of actions as a plain dict shaped like `Page[ActionOut]`.

    A cursor fixes the day overdue is judged on to the first page's, so that a listing does not
    change its mind at midnight; an explicit, different `as_of` with it is refused.
    """
    fingerprint = filters_fingerprint(filters)
    after = None
    as_of = filters.as_of or clock.today()
    if cursor is not None:
        decoded = decode_cursor(cursor, sort=sort, fingerprint=fingerprint)
        if filters.as_of is not None and filters.as_of != decoded.as_of:
            raise InvalidCursor(f"it was made for as_of={decoded.as_of.isoformat()}")
        as_of, after = decoded.as_of, decoded.position
    items, following = fetch_batch(
        db=db, filters=filters, sort=sort, as_of=as_of, after=after, limit=limit
    )
    next_cursor = (
        encode_cursor(Cursor(sort=sort, position=following, as_of=as_of, fingerprint=fingerprint))
        if following is not None
        else None
    )
    total = count_actions(db=db, filters=filters, as_of=as_of) if count else None
    return {"items": items, "next_cursor": next_cursor, "total": total}
