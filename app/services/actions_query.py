"""The read path for actions: one SQL statement per page, rows straight to plain dicts.

Paging is keyset (no OFFSET): a page is "the next `limit` rows after this (sort key, id)", so
rows added or removed between pages neither repeat nor skip the rows that stay. The position
travels as an opaque cursor tied to the sort, the filters and the day "overdue" is judged on
(encoded and checked in app.services.cursors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
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
from app.services.overdue_rule import (
    DAYS_OVERDUE,
    NOT_OVERDUE,
    OVERDUE,
    days_overdue,
)
from app.services.search import parse as parse_search
from app.services.search_index import matching_ids, ranked_matches, search_params

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
    A.report_id,
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

# An action's columns and those of its finding, report, question and owner.
_FROM = (
    _ACTION.join(_FINDING, A.finding_id == F.id)
    .join(_REPORT, A.report_id == R.id)
    .outerjoin(_SECTION, F.section_id == _SECTION.c.id)
    .outerjoin(_OWNER, A.owner_id == _OWNER.c.id)
)
_BASE = select(*_COLUMNS).select_from(_FROM)


_SELECTED = tuple(_BASE.selected_columns.keys())
_OWNER_AT = _SELECTED.index("owner_name")
_NAMES = _SELECTED[:_OWNER_AT]
if _SELECTED[_OWNER_AT:] != ("owner_name", "owner_email", "owner_team"):
    raise RuntimeError("_to_dict reads the owner's columns last; keep them last in _COLUMNS")


# --- filters -------------------------------------------------------------------------------

# Every filter is one condition with named parameters, on the action alone (what it asks of
# the report or the finding is a subquery), so that a page, a count or an aggregate reads only
# the action table and its indexes. Statements are built once per combination of filters given
# (a "shape") and run with each request's values, so SQLAlchemy neither rebuilds them nor walks
# them again to find their compiled form.
_REPORT_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "force": func.lower(R.force) == bindparam("force"),
    # "2018/19" matches the year as written; "2018" also matches a report for 2018/19.
    "year": or_(R.year_label == bindparam("year"), R.start_year == bindparam("start_year")),
    "programme": func.lower(R.programme) == bindparam("programme"),
    "pillar": func.lower(R.pillar) == bindparam("pillar"),
}
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "statuses": A.status.in_(bindparam("statuses", expanding=True)),
    "priorities": A.priority.in_(bindparam("priorities", expanding=True)),
    "owner_id": A.owner_id == bindparam("owner_id"),
    "unassigned": A.owner_id.is_(None),
    "assigned": A.owner_id.is_not(None),
    "report_id": A.report_id == bindparam("report_id"),
    "kind": exists().where(F.id == A.finding_id, F.kind == bindparam("kind")),
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


def report_conditions(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The shape's conditions on the report (force, year, programme, pillar), on `report`."""
    return [_REPORT_CONDITIONS[name] for name in shape if name in _REPORT_CONDITIONS]


def filter_conditions(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """WHERE conditions for a shape, on the action table alone."""
    conditions = [_CONDITIONS[name] for name in shape if name in _CONDITIONS]
    on_report = report_conditions(shape)
    if on_report:
        conditions.append(A.report_id.in_(select(R.id).where(*on_report)))
    return conditions


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


# Shapes with one of these filters select few enough actions that finding them through an index
# and sorting them beats reading in sort order (on SQLite; see `unindexed`).
_POINTED = frozenset({"owner_id", "report_id", "q"})
# Report filters select that few when they match at most this share of the reports.
_FEW_REPORTS = 0.02


def _walks_sort_order(db: Reader, shape: tuple[str, ...], params: dict[str, Any]) -> bool:
    """Whether a page of this shape is read in its sort's order (on SQLite)."""
    if _dialect(db) != "sqlite" or _POINTED.intersection(shape):
        return False
    on_report = report_conditions(shape)
    if not on_report:
        return True
    counts = db.execute(_report_share_statement(shape), params).one()
    return bool(counts.total) and counts.matching > _FEW_REPORTS * counts.total


@lru_cache(maxsize=64)
def _report_share_statement(shape: tuple[str, ...]) -> Select[tuple[int, int]]:
    reports = select(func.count()).select_from(_REPORT)
    return select(
        reports.where(*report_conditions(shape)).scalar_subquery().label("matching"),
        reports.scalar_subquery().label("total"),
    )


def _dialect(db: Reader) -> str:
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name


def _paged(
    *,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[tuple[ColumnElement[Any], bool]],
    after: ColumnElement[bool] | None,
    key: ColumnElement[Any] | None,
    walk: bool,
    source: FromClause = _ACTION,
) -> Select[*tuple[Any, ...]]:
    """A page in two steps: the ids in order from the action table alone (a narrow sort when
    there is one to do), then their columns and joins for those ids only. `order` is
    (expression, descending) pairs, `key` the sort key shown in cursors."""
    ordering = [expression.label(f"order_{i}") for i, (expression, _) in enumerate(order)]
    ids = select(A.id.label("page_id"), *ordering).select_from(source)
    if key is not None:
        ids = ids.add_columns(key.label("sort_key"))
    if where:
        ids = ids.where(unindexed(and_(*where)) if walk else and_(*where))
    if after is not None:
        ids = ids.where(after)
    descending = [desc for _, desc in order]
    ids_order = [e.desc() if d else e for (e, _), d in zip(order, descending, strict=True)]
    page = ids.order_by(*ids_order).limit(bindparam("limit", type_=Integer())).subquery("page")
    columns = [*_BASE.selected_columns]
    if key is not None:
        columns.append(page.c.sort_key)
    page_order = [
        column.desc() if desc else column
        for column, desc in zip(list(page.c)[1 : 1 + len(order)], descending, strict=True)
    ]
    return (
        select(*columns).select_from(_FROM.join(page, page.c.page_id == A.id)).order_by(*page_order)
    )


def _relevance_page(shape: tuple[str, ...], sort: ActionSort, after: bool) -> Select[Any]:
    """By relevance the search's rank is the key, and the join to the ranked matches is the
    search condition."""
    if "q" not in shape:
        raise RelevanceWithoutSearch()
    matches = ranked_matches().subquery("search_match")
    rank = matches.c.rank
    return _paged(
        where=filter_conditions(tuple(name for name in shape if name != "q")),
        order=[(rank, sort.descending), (A.id, sort.descending)],
        after=_after(sort, rank) if after else None,
        key=rank,
        walk=False,
        source=_ACTION.join(matches, matches.c.action_id == A.id),
    )


@lru_cache(maxsize=512)
def _page_statement(
    shape: tuple[str, ...], sort: ActionSort, after: bool, walk: bool = False
) -> Select[*tuple[Any, ...]]:
    if sort.field == "relevance":
        return _relevance_page(shape, sort, after)
    key = sort_key(sort)
    order = (
        [(A.id, sort.descending)]
        if key is None
        else [(key, sort.descending), (A.id, sort.descending)]
    )
    return _paged(
        where=filter_conditions(shape),
        order=order,
        after=_after(sort, key) if after else None,
        key=key,
        walk=walk,
    )


@lru_cache(maxsize=256)
def _count_statement(shape: tuple[str, ...]) -> Select[int]:
    if shape == ("q",):
        # Every action has one row in the index, and a finding and a report: count the index.
        return select(func.count()).select_from(matching_ids().subquery())
    return select(func.count()).select_from(_ACTION).where(*filter_conditions(shape))


# --- rows to dicts ---------------------------------------------------------------------------


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
    overdue = days_overdue(
        status=data["status"],
        due_date=data["due_date"],
        finding_withdrawn=data["finding_withdrawn_at"] is not None,
        as_of=as_of,
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
    """Up to `limit` actions after `after`, in one statement (two at most for days overdue);
    and the position to continue from (None when there are no more)."""
    if sort.field == "days_overdue":
        return _fetch_by_days_overdue(
            db=db,
            filters=filters,
            descending=sort.descending,
            as_of=as_of,
            after=after,
            limit=limit,
        )
    shape, params = filter_values(filters=filters, as_of=as_of)
    params["limit"] = limit + 1
    if after is not None:
        params["after_key"], params["after_id"] = after.key, after.last_id
    walk = _walks_sort_order(db, shape, params)
    statement = _page_statement(shape, sort, after is not None, walk)
    rows = db.execute(statement, params).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = Position(None if sort.field == "id" else last[-1], last[0])
    return [_to_dict(row, as_of) for row in rows], following


# --- days overdue ----------------------------------------------------------------------------
#
# Days overdue depend on the day asked about, so no index holds them in order. But the overdue
# actions, in order of days overdue, are the overdue actions in order of due date (reversed),
# which an index holds; and every other action has 0 days, in id order. So this sort reads two
# segments in turn, each in the order of an index: "-days_overdue" the overdue actions (most days
# first, then highest id) and then the rest (highest id first); "days_overdue" the rest (lowest
# id first) and then the overdue actions (fewest days first, then lowest id). A position with
# days > 0 is in the overdue segment. The order is exactly that of sorting by (days, id).


def _segments(descending: bool) -> tuple[str, str]:
    return ("overdue", "not_overdue") if descending else ("not_overdue", "overdue")


@lru_cache(maxsize=256)
def _overdue_segment_statement(
    shape: tuple[str, ...], descending: bool, after: bool, walk: bool
) -> Select[*tuple[Any, ...]]:
    # Through the due-date sort's indexed expression; overdue actions all have a due date.
    due = sort_key(ActionSort.DUE_DATE)
    assert due is not None
    position = None
    if after:
        last_due = bindparam("after_due", type_=Date())
        last_id = bindparam("after_id", type_=Integer())
        further = due > last_due if descending else due < last_due
        same_due_further = A.id < last_id if descending else A.id > last_id
        # Bounded below (above) by the last due date, so the index range starts there.
        bound = due >= last_due if descending else due <= last_due
        position = and_(bound, or_(further, and_(due == last_due, same_due_further)))
    return _paged(
        where=filter_conditions(shape),
        order=[(due, not descending), (A.id, descending)],
        after=position,
        key=DAYS_OVERDUE,
        walk=walk,
    )


def _fetch_by_days_overdue(
    *,
    db: Reader,
    filters: ActionFilters,
    descending: bool,
    as_of: date,
    after: Position | None,
    limit: int,
) -> tuple[list[dict[str, Any]], Position | None]:
    shape, params = filter_values(filters=filters, as_of=as_of)
    segments = list(_segments(descending))
    if after is not None:
        # Start in the segment the position is in.
        segments = segments[segments.index("overdue" if after.key > 0 else "not_overdue") :]
    rows: list[Any] = []
    for segment in segments:
        if ("not_overdue" if segment == "overdue" else "overdue") in shape:
            continue  # the filters leave this segment empty
        segment_shape = shape if segment in shape else (*shape, segment)
        segment_params = {**params, "limit": limit + 1 - len(rows)}
        resume = after is not None and (after.key > 0) == (segment == "overdue")
        if resume:
            assert after is not None
            segment_params["after_id"] = after.last_id
        if segment == "overdue":
            if resume:
                assert after is not None
                segment_params["after_due"] = as_of - timedelta(days=after.key)
            walk = _walks_sort_order(db, segment_shape, segment_params)
            statement = _overdue_segment_statement(segment_shape, descending, resume, walk)
            rows.extend(db.execute(statement, segment_params).all())
        else:
            id_order = ActionSort.ID_DESC if descending else ActionSort.ID
            walk = _walks_sort_order(db, segment_shape, segment_params)
            statement = _page_statement(segment_shape, id_order, resume, walk)
            rows.extend((*row, 0) for row in db.execute(statement, segment_params).all())
        if len(rows) > limit:
            break
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = Position(rows[-1][-1], rows[-1][0])
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
