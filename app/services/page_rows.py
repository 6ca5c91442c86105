"""A page's rows: the statement of its shape (app.services.action_pages) run with the request's
values, and the position to continue from; by days overdue, two segments in turn, and after a
cursor by due date on a past day, two parts in turn."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, Row, Select, and_, bindparam, or_, text

from app.custom_plans import CUSTOM_PLAN
from app.db import Reader
from app.schemas.filters import ActionFilters, ActionSort
from app.services.action_filters import A, filter_conditions, filter_values
from app.services.action_pages import (
    PAGE_COLUMNS,
    Columns,
    in_parts,
    page_statement,
    paged,
    parts_statements,
    sort_key,
    starts_at_reference,
)
from app.services.as_of import at_day, is_past
from app.services.cursors import Position
from app.services.overdue_rule import DAYS_OVERDUE
from app.services.page_plans import Plan, dialect_of, past_overdue_plan, past_plan, plan_for


def fetch_rows(
    *,
    db: Reader,
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    after: Position | None,
    limit: int,
    columns: Columns = PAGE_COLUMNS,
) -> tuple[list[Row[Any]], Position | None]:
    """Up to `limit` rows of `columns` (and the sort key last) after `after`, in one statement
    (two at most for days overdue, or by due date on a past day); and the position to continue
    from (None at the end)."""
    if sort.field == "days_overdue":
        return _fetch_by_days_overdue(
            db=db,
            filters=filters,
            descending=sort.descending,
            as_of=as_of,
            after=after,
            limit=limit,
            columns=columns,
        )
    shape, params = filter_values(filters=filters, as_of=as_of)
    params["limit"] = limit + 1
    if after is not None:
        params["after_key"], params["after_id"] = after.key, after.last_id
    if is_past(as_of):
        plan = past_plan(db, shape, params, sort_field=sort.field)
    else:
        plan = plan_for(db, shape, params, by_id=sort.field == "id")
    if after is not None and in_parts(sort, plan):
        statements = parts_statements(shape, sort, plan, columns)
        rows = _rows_in_parts(db=db, statements=statements, params=params, as_of=as_of)
    else:
        statement = page_statement(shape, sort, after is not None, plan, columns)
        if after is None and is_past(as_of) and starts_at_reference(shape, sort):
            _without_parallel_workers(db)
        rows = list(db.execute(at_day(statement, as_of), params).all())
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = Position(None if sort.field == "id" else last[-1], last[0])
    return rows, following


def _rows_in_parts(
    *, db: Reader, statements: tuple[Select[Any], ...], params: dict[str, Any], as_of: date
) -> list[Row[Any]]:
    """The rows of statements that read a page in parts, in turn, until the page (and the one
    row more that tells there is a next page) is full. Each part is planned for its values
    (CUSTOM_PLAN): PostgreSQL's generic plan of the cursor's own due date, made without knowing
    that date, walked the states in id order testing each one's due date, and for the undated
    (15% of actions, one key) read most of them: page 20 of a past day's Kent by -due_date took
    700 ms at 1M actions, against 31 planned for the cursor."""
    wanted = params["limit"]
    rows: list[Row[Any]] = []
    for statement in statements:
        part = {**params, "limit": wanted - len(rows)}
        found = db.execute(at_day(statement, as_of), part, execution_options={CUSTOM_PLAN: True})
        rows.extend(found.all())
        if len(rows) >= wanted:
            break
    return rows


def _without_parallel_workers(db: Reader) -> None:
    """For the rest of the read's transaction, plans without parallel workers (PostgreSQL).
    A past day's first page by reference from its force's first reference reads a page's worth
    of states, but PostgreSQL, expecting a third of the table, starts two workers for it: 20 to
    30 ms of the 40 its page took at 1M, against 15 to 20 without them."""
    if dialect_of(db) == "postgresql":
        db.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


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
    shape: tuple[str, ...], descending: bool, after: bool, plan: Plan, columns: Columns
) -> Select[*tuple[Any, ...]]:
    # Overdue actions all have a due date, so the due-date sort's key orders them as the due
    # date itself does. Today through the key's indexed expression; on a past day through the
    # states' due date, which ix_action_state_due_date holds in order (Plan.STATES_BY_DUE), as
    # ix_action_state_owner_due does an owner's (migration 0024). Other states collected and
    # sorted (Plan.STATES: a report's, those of report filters matching few reports) keep the
    # key no index holds, so that PostgreSQL collects them too rather than walk
    # ix_action_state_due_date hoping to meet them early (3.5 s against 10 ms at 1M).
    in_order = plan is Plan.STATES_BY_DUE or (plan is Plan.STATES and "owner_id" in shape)
    due = A.due_date if in_order else sort_key(ActionSort.DUE_DATE)
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
    # Report filters on a walk in due-date order are tested on each state walked
    # (app.services.action_pages: the states' report indexes left unused).
    return paged(
        where=filter_conditions(shape),
        order=[(due, not descending), (A.id, descending)],
        after=position,
        key=DAYS_OVERDUE,
        plan=plan,
        columns=columns,
    )


def _fetch_by_days_overdue(
    *,
    db: Reader,
    filters: ActionFilters,
    descending: bool,
    as_of: date,
    after: Position | None,
    limit: int,
    columns: Columns,
) -> tuple[list[Row[Any]], Position | None]:
    shape, params = filter_values(filters=filters, as_of=as_of)
    segments = list(_segments(descending))
    if after is not None:
        # Start in the segment the position is in.
        segments = segments[segments.index("overdue" if after.key > 0 else "not_overdue") :]
    rows: list[Any] = []  # Rows, and tuples like them
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
            plan = (
                past_overdue_plan(db, segment_shape, segment_params)
                if is_past(as_of)
                else plan_for(db, segment_shape, segment_params)
            )
            statement = _overdue_segment_statement(segment_shape, descending, resume, plan, columns)
            # How best to read an owner's overdue actions depends on how many the owner holds
            # (18,886 actions or 918 at 1M): PostgreSQL's generic plan, made for an average owner,
            # read all of the heaviest's and sorted them (25 to 50 ms a page, against 10 to 15).
            options = {CUSTOM_PLAN: True} if "owner_id" in shape else {}
            found = db.execute(at_day(statement, as_of), segment_params, execution_options=options)
            rows.extend(found.all())
        else:
            id_order = ActionSort.ID_DESC if descending else ActionSort.ID
            if is_past(as_of):
                plan = past_plan(db, segment_shape, segment_params, sort_field="id")
            else:
                plan = plan_for(db, segment_shape, segment_params, by_id=True)
            statement = at_day(
                page_statement(segment_shape, id_order, resume, plan, columns), as_of
            )
            rows.extend((*row, 0) for row in db.execute(statement, segment_params).all())
        if len(rows) > limit:
            break
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = Position(rows[-1][-1], rows[-1][0])
    return rows, following
