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
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    SQLColumnExpression,
    and_,
    case,
    func,
    literal,
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
from app.enums import ActionStatus
from app.models import Action, Finding, Owner, Report, Section
from app.schemas.queries import ActionFilters, ActionSort
from app.services.cursors import (
    Cursor,
    InvalidCursor,
    Position,
    decode_cursor,
    encode_cursor,
    filters_fingerprint,
)

# Statuses in which a passed due date makes an action overdue.
ACTIVE_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED)

# Sorting by due date puts actions without one after every dated action (before, descending):
# the key is COALESCE(due_date, FAR_FUTURE), the same on SQLite and PostgreSQL.
FAR_FUTURE = date(9999, 12, 31)

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
    _OWNER.c.name.label("owner_name"),
    _OWNER.c.email.label("owner_email"),
    _OWNER.c.team.label("owner_team"),
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
)

# Every filter can rely on these joins (finding and report are never NULL for an action).
FILTERABLE = _ACTION.join(_FINDING, A.finding_id == F.id).join(_REPORT, F.report_id == R.id)
_BASE = select(*_COLUMNS).select_from(
    FILTERABLE.outerjoin(_SECTION, F.section_id == _SECTION.c.id).outerjoin(
        _OWNER, A.owner_id == _OWNER.c.id
    )
)


def base_query() -> Select[*tuple[Any, ...]]:
    """Actions with their finding, report, question and owner, as one row each."""
    return _BASE


_NAMES = tuple(_BASE.selected_columns.keys())


# --- overdue -------------------------------------------------------------------------------


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


def overdue_condition(*, as_of: date) -> ColumnElement[bool]:
    """Past due and still to be done. An action whose finding the report no longer contains
    (withdrawn on re-import) is not held against anyone. Needs Finding joined."""
    return and_(A.status.in_(ACTIVE_STATUSES), A.due_date < as_of, F.withdrawn_at.is_(None))


def not_overdue_condition(*, as_of: date) -> ColumnElement[bool]:
    # Spelled out rather than NOT(...): a NULL due date must count as "not overdue", not NULL.
    return or_(
        A.status.not_in(ACTIVE_STATUSES),
        A.due_date.is_(None),
        A.due_date >= as_of,
        F.withdrawn_at.is_not(None),
    )


def days_overdue_expression(*, as_of: date) -> ColumnElement[int]:
    return case(
        (overdue_condition(as_of=as_of), days_between(A.due_date, literal(as_of, Date()))),
        else_=0,
    )


# --- filters -------------------------------------------------------------------------------


def _lower_equals(column: SQLColumnExpression[str | None], value: str) -> ColumnElement[bool]:
    return func.lower(column) == value.lower()


def filter_conditions(*, filters: ActionFilters, as_of: date) -> list[ColumnElement[bool]]:
    """WHERE conditions for the filters; they need Action joined to Finding and Report."""
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(A.status.in_(filters.statuses))
    if filters.priorities:
        conditions.append(A.priority.in_(filters.priorities))
    if filters.owner_id is not None:
        conditions.append(A.owner_id == filters.owner_id)
    if filters.unassigned is not None:
        conditions.append(A.owner_id.is_(None) if filters.unassigned else A.owner_id.is_not(None))
    if filters.force:
        conditions.append(_lower_equals(R.force, filters.force))
    if filters.year:
        # "2018/19" matches the year as written; "2018" also matches a report for 2018/19.
        same_year: ColumnElement[bool] = R.year_label == filters.year
        if len(filters.year) == 4 and filters.year.isdigit():
            same_year = or_(same_year, R.start_year == int(filters.year))
        conditions.append(same_year)
    if filters.programme:
        conditions.append(_lower_equals(R.programme, filters.programme))
    if filters.pillar:
        conditions.append(_lower_equals(R.pillar, filters.pillar))
    if filters.report_id is not None:
        conditions.append(F.report_id == filters.report_id)
    if filters.kind:
        conditions.append(F.kind == filters.kind)
    if filters.overdue is not None:
        conditions.append(
            overdue_condition(as_of=as_of)
            if filters.overdue
            else not_overdue_condition(as_of=as_of)
        )
    if filters.due_before is not None:
        conditions.append(A.due_date < filters.due_before)
    if filters.due_after is not None:
        conditions.append(A.due_date > filters.due_after)
    if filters.q:
        conditions.append(
            or_(
                A.title.icontains(filters.q, autoescape=True),
                A.description.icontains(filters.q, autoescape=True),
                A.reference.icontains(filters.q, autoescape=True),
            )
        )
    return conditions


# --- sorting and positions -------------------------------------------------------------------


def sort_key(*, sort: ActionSort, as_of: date) -> ColumnElement[Any] | None:
    """The expression a sort orders by before the id tie-break; None when it is the id."""
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
        return days_overdue_expression(as_of=as_of)
    return None


def _after(sort: ActionSort, key: ColumnElement[Any] | None, position: Position) -> Any:
    if key is None:
        return A.id < position.last_id if sort.descending else A.id > position.last_id
    here = tuple_(key, A.id)
    there = tuple_(literal(position.key, key.type), literal(position.last_id, Integer()))
    return here < there if sort.descending else here > there


def _order(sort: ActionSort, key: ColumnElement[Any] | None) -> list[Any]:
    columns: list[Any] = [A.id] if key is None else [key, A.id]
    return [column.desc() for column in columns] if sort.descending else columns


# --- rows to dicts ---------------------------------------------------------------------------


_ACTIVE = frozenset(str(status) for status in ACTIVE_STATUSES)


def _to_dict(values: Sequence[Any], as_of: date) -> dict[str, Any]:
    # Runs once per row of every page: kept to plain dict operations, days overdue included.
    data = dict(zip(_NAMES, values, strict=False))
    owner_id = data["owner_id"]
    name, email, team = data.pop("owner_name"), data.pop("owner_email"), data.pop("owner_team")
    data["owner"] = (
        {"id": owner_id, "name": name, "email": email, "team": team}
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


def row_to_dict(row: Any, *, as_of: date) -> dict[str, Any]:
    """One row of `base_query()` as the dict an ActionOut is made from."""
    return _to_dict(tuple(row), as_of)


# --- pages -----------------------------------------------------------------------------------


def fetch_batch(
    *,
    session: Session,
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    after: Position | None,
    limit: int,
) -> tuple[list[dict[str, Any]], Position | None]:
    """Up to `limit` actions after `after`, in one statement; and the position to continue from
    (None when there are no more)."""
    key = sort_key(sort=sort, as_of=as_of)
    query = base_query()
    if key is not None:
        query = query.add_columns(key.label("sort_key"))
    query = query.where(*filter_conditions(filters=filters, as_of=as_of))
    if after is not None:
        query = query.where(_after(sort, key, after))
    rows = session.execute(query.order_by(*_order(sort, key)).limit(limit + 1)).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = Position(None if key is None else last[-1], last[0])
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
                session=session, filters=filters, sort=sort, as_of=as_of, after=after, limit=batch
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


def count_actions(*, session: Session, filters: ActionFilters, as_of: date) -> int:
    query = select(func.count()).select_from(FILTERABLE)
    return session.scalar(query.where(*filter_conditions(filters=filters, as_of=as_of))) or 0


def list_page(
    *,
    session: Session,
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
        session=session, filters=filters, sort=sort, as_of=as_of, after=after, limit=limit
    )
    next_cursor = (
        encode_cursor(Cursor(sort=sort, position=following, as_of=as_of, fingerprint=fingerprint))
        if following is not None
        else None
    )
    total = count_actions(session=session, filters=filters, as_of=as_of) if count else None
    return {"items": items, "next_cursor": next_cursor, "total": total}
