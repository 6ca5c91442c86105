"""The statement of a page of actions: keyset pages in two steps (the ids in order from the
action table alone, then the columns of those ids), each read through the sort's own index where
that is less work (how: app.services.page_plans). Running it, and the days-overdue sort as two
segments that indexes hold in order: app.services.page_rows.

Paging is keyset (no OFFSET): a page is "the next `limit` rows after this (sort key, id)", so
rows added or removed between pages neither repeat nor skip the rows that stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    select,
    table,
    tuple_,
)
from sqlalchemy.sql.elements import BinaryExpression

from app.errors import InvalidInput
from app.models.action import FAR_FUTURE, Action
from app.schemas.filters import ActionSort
from app.services.action_filters import (
    ACTION,
    FINDING,
    OWNER,
    REPORT,
    SECTION,
    A,
    F,
    R,
    filter_conditions,
    report_conditions,
)
from app.services.as_of import holding, on_states, state_id
from app.services.overdue_rule import AS_OF, DAYS_OVERDUE
from app.services.page_plans import Plan, any_match, unindexed
from app.services.revisions import REVISION_COUNT
from app.services.search_index import indexed_id, matching_in_index_order, ranked_matches
from app.services.states import STATE

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
    SECTION.c.heading.label("question"),
    A.owner_id,
    A.status,
    A.priority,
    A.due_date,
    A.original_due_date,
    REVISION_COUNT,
    A.progress_note,
    A.created_at,
    A.updated_at,
    A.closed_at,
    A.version,
    A.superseded_by_action_id,
    A.superseded_by_finding_id,
    A.rag,
    A.percent_complete,
    A.last_progress_at,
    F.withdrawn_at.label("finding_withdrawn_at"),
    # Last, so that rows map to dicts by zip() without them; see _to_dict.
    OWNER.c.name.label("owner_name"),
    OWNER.c.email.label("owner_email"),
    OWNER.c.team.label("owner_team"),
)

# An action's columns and those of its finding, report, question and owner.
_FROM = (
    ACTION.join(FINDING, A.finding_id == F.id)
    # Outer: the page's ids come from the action table alone, and every one of them must come
    # back for the next position to be right, whatever becomes of the report.
    .outerjoin(REPORT, A.report_id == R.id)
    .outerjoin(SECTION, F.section_id == SECTION.c.id)
    .outerjoin(OWNER, A.owner_id == OWNER.c.id)
)
BASE = select(*_COLUMNS).select_from(_FROM)
# What a page reads of each action: the columns `_to_dict` shapes, or another view of the same
# rows (the CSV export's), any expression over the tables joined in `_FROM`.
Columns = tuple[ColumnElement[Any], ...]
PAGE_COLUMNS: Columns = tuple(BASE.selected_columns)


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


def _after(
    sort: ActionSort, key: ColumnElement[Any] | None, id_: ColumnElement[int] = A.id
) -> ColumnElement[bool]:
    last_id = bindparam("after_id", type_=Integer())
    if key is None:
        id_ = state_id(id_) if id_ is A.id else id_
        return id_ < last_id if sort.descending else id_ > last_id
    here = tuple_(key, id_)
    there = tuple_(bindparam("after_key", type_=key.type), last_id)
    return here < there if sort.descending else here > there


# The action table's report and reference as a plain table: never rewritten to a day's states.
_TODAYS_REFERENCES = table(
    Action.__tablename__, column("report_id", Integer()), column("reference", String())
).alias("report_action")


def starts_at_reference(shape: tuple[str, ...], sort: ActionSort) -> bool:
    """Whether a first page starts at the first (last) reference of its reports (see
    `_reference_start`): by reference, with a force."""
    return sort.field == "reference" and "force" in shape


def _reference_start(shape: tuple[str, ...], descending: bool) -> ColumnElement[bool]:
    """Where a force's first page by reference starts: at the first reference (the last,
    descending) of the reports the report filters match, one seek per report in
    ix_action_report_id_reference. References lead with the force (app.services.references),
    so a force's actions sit together in reference order; PostgreSQL's planner, expecting them
    spread evenly, walked uq_action_reference from the first reference of all (442,000 entries
    before Kent's first at 1M: 0.6 s). Other report filters spread over that order, where a
    walk from its start meets them early, cheaper than a seek for each of their many reports.
    A bound every action matched meets, so the page is the same.

    Today's actions give the bound on a past day too (read as a plain table, which the rewrite
    to that day's states (app.services.as_of) leaves alone): an action is never deleted nor
    moved to another report, and its reference never changes, so the actions of a past day
    are some of today's, and today's first reference is at or before theirs. The states of
    that day would give the same page for tens of milliseconds more."""
    theirs = _TODAYS_REFERENCES
    edge = func.max if descending else func.min
    reports_edge = (
        select(edge(theirs.c.reference)).where(theirs.c.report_id == R.id).scalar_subquery()
    )
    start = select(edge(reports_edge)).where(*report_conditions(shape)).scalar_subquery()
    return A.reference <= start if descending else A.reference >= start


def paged(
    *,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[tuple[ColumnElement[Any], bool]],
    after: ColumnElement[bool] | None,
    key: ColumnElement[Any] | None,
    plan: Plan,
    source: FromClause = ACTION,
    columns: Columns = PAGE_COLUMNS,
) -> Select[*tuple[Any, ...]]:
    """A page in two steps: the ids in order from the action table alone (a narrow sort when
    there is one to do), then their columns and joins for those ids only. `order` is
    (expression, descending) pairs, `key` the sort key shown in cursors."""
    if plan in (Plan.STATES, Plan.STATES_BY_DUE, Plan.STATES_IN_ORDER):
        return _paged_from_states(
            where=where, order=order, after=after, key=key, columns=columns, plan=plan
        )
    ordering = [expression.label(f"order_{i}") for i, (expression, _) in enumerate(order)]
    ids = select(A.id.label("page_id"), *ordering).select_from(source)
    if key is not None:
        ids = ids.add_columns(key.label("sort_key"))
    if where:
        walked = plan in (Plan.WALK, Plan.SEARCH)
        ids = ids.where(unindexed(and_(*where)) if walked else and_(*where))

    if after is not None:
        ids = ids.where(after)
    by = [expression for expression, _ in order]
    limit: ColumnElement[int] = bindparam("limit", type_=Integer())
    if where and plan is Plan.WALK:
        limit = case((any_match(where), limit), else_=0)
    return _page_of(ids, order=order, key=key, plan=plan, columns=columns, by=by, limit=limit)


def _paged_from_states(
    *,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[tuple[ColumnElement[Any], bool]],
    after: ColumnElement[bool] | None,
    key: ColumnElement[Any] | None,
    columns: Columns,
    plan: Plan,
) -> Select[*tuple[Any, ...]]:
    """Plan.STATES, STATES_BY_DUE and STATES_IN_ORDER: the ids step over the states that held
    at the day's end (conditions and keys on the state's own columns); the columns step is
    rewritten by `at_day` as any page. Walked in the sort's order (STATES_BY_DUE,
    STATES_IN_ORDER), SQLite is not to look the report filters up in ix_action_state_report
    (it would collect a programme's states and sort them, rather than walk the due dates to
    the page's end: 9 against 215 ms of CPU for PEEL at 1M); in STATES_IN_ORDER, nor the
    moments in ix_action_state_held (every state that held, collected and sorted), as only
    the sort's index is to be read."""
    walked = plan in (Plan.STATES_BY_DUE, Plan.STATES_IN_ORDER)
    on_state = [on_states(expression) for expression, _ in order]
    ordering = [expression.label(f"order_{i}") for i, expression in enumerate(on_state)]
    held = holding(STATE)
    if plan is Plan.STATES_IN_ORDER:
        held = unindexed(held)
    ids = select(STATE.c.action_id.label("page_id"), *ordering).where(held)
    if key is not None:
        ids = ids.add_columns(on_states(key).label("sort_key"))
    conditions = [on_states(condition) for condition in where]
    ids = ids.where(*(unindexed(c) if walked and _on_reports(c) else c for c in conditions))
    if after is not None:
        ids = ids.where(on_states(after))
    return _page_of(ids, order=order, key=key, plan=Plan.STATES, columns=columns, by=on_state)


def _on_reports(condition: ColumnElement[bool]) -> bool:
    """Whether `condition` (on the states) is the report filters' `report_id IN (reports)`."""
    return isinstance(condition, BinaryExpression) and condition.left is STATE.c.report_id


def _page_of(
    ids: Select[Any],
    *,
    order: Sequence[tuple[ColumnElement[Any], bool]],
    key: ColumnElement[Any] | None,
    plan: Plan,
    columns: Columns,
    by: Sequence[ColumnElement[Any]],
    limit: ColumnElement[int] | None = None,
) -> Select[*tuple[Any, ...]]:
    """The page's `limit` ids in order from `ids` (sorted `by` the expressions of `order` as
    `ids` reads them), then their columns."""
    descending = [desc for _, desc in order]
    if plan is Plan.COLLECT:
        # OFFSET 0 keeps PostgreSQL from planning the matches with the LIMIT in view.
        matches = ids.offset(0).subquery("matching")
        ids = select(*matches.c)
        sort_columns: Sequence[ColumnElement[Any]] = list(matches.c)[1 : 1 + len(order)]
    else:
        sort_columns = by
    ids_order = [e.desc() if d else e for e, d in zip(sort_columns, descending, strict=True)]
    if limit is None:
        limit = bindparam("limit", type_=Integer())
    page = ids.order_by(*ids_order).limit(limit).subquery("page")
    if key is not None:
        columns = (*columns, page.c.sort_key)
    page_order = [
        column.desc() if desc else column
        for column, desc in zip(list(page.c)[1 : 1 + len(order)], descending, strict=True)
    ]
    return (
        select(*columns).select_from(_FROM.join(page, page.c.page_id == A.id)).order_by(*page_order)
    )


def _relevance_page(
    shape: tuple[str, ...], sort: ActionSort, after: bool, columns: Columns
) -> Select[Any]:
    """By relevance the search's rank is the key, and the join to the ranked matches is the
    search condition."""
    if "q" not in shape:
        raise RelevanceWithoutSearch()
    matches = ranked_matches().subquery("search_match")
    rank, found = matches.c.rank, matches.c.action_id
    others = tuple(name for name in shape if name != "q")
    if not others:
        # Every action has one row in the index: with no other filter, the ids in order come
        # from the index alone, and only the page's actions are read (not every match's).
        order = [(rank, sort.descending), (found, sort.descending)]
        ids = select(found.label("page_id"), rank.label("order_0"), found.label("order_1"))
        ids = ids.add_columns(rank.label("sort_key"))
        if after:
            ids = ids.where(_after(sort, rank, found))
        return _page_of(
            ids, order=order, key=rank, plan=Plan.SEEK, columns=columns, by=[rank, found]
        )
    return paged(
        where=filter_conditions(others),
        order=[(rank, sort.descending), (A.id, sort.descending)],
        after=_after(sort, rank) if after else None,
        key=rank,
        plan=Plan.SEEK,
        source=ACTION.join(matches, found == A.id),
        columns=columns,
    )


def _search_page(
    shape: tuple[str, ...], sort: ActionSort, after: bool, columns: Columns
) -> Select[Any]:
    """Plan.SEARCH: the ids in the full-text index's own order (the id), the search condition
    the join to its matches; the other filters tested on each match's action."""
    search_id = indexed_id()
    last_id = bindparam("after_id", type_=Integer())
    return paged(
        where=filter_conditions(tuple(name for name in shape if name != "q")),
        order=[(search_id, sort.descending)],
        after=(search_id < last_id if sort.descending else search_id > last_id) if after else None,
        key=None,
        plan=Plan.SEARCH,
        source=matching_in_index_order(ACTION),
        columns=columns,
    )


@lru_cache(maxsize=512)
def page_statement(
    shape: tuple[str, ...],
    sort: ActionSort,
    after: bool,
    plan: Plan = Plan.SEEK,
    columns: Columns = PAGE_COLUMNS,
) -> Select[*tuple[Any, ...]]:
    if sort.field == "relevance":
        return _relevance_page(shape, sort, after, columns)
    if plan is Plan.SEARCH:
        return _search_page(shape, sort, after, columns)
    key = sort_key(sort)
    order = (
        [(A.id, sort.descending)]
        if key is None
        else [(key, sort.descending), (A.id, sort.descending)]
    )
    start: ColumnElement[bool] | None
    if after:
        start = _after(sort, key)
    else:
        at_reference = starts_at_reference(shape, sort)
        start = _reference_start(shape, sort.descending) if at_reference else None
    where = filter_conditions(shape)
    if key is not None:
        where, start = _bounded(shape, sort.field, key, plan, where, start)
    return paged(where=where, order=order, after=start, key=key, plan=plan, columns=columns)


def _bounded(
    shape: tuple[str, ...],
    field: str,
    key: ColumnElement[Any],
    plan: Plan,
    where: list[ColumnElement[bool]],
    start: ColumnElement[bool] | None,
) -> tuple[list[ColumnElement[bool]], ColumnElement[bool] | None]:
    """`where` and `start` with the filters' bounds on the sort's key (`_key_bounds`) for a
    read in the key's order: among the states' conditions (Plan.STATES_IN_ORDER), or with the
    page's start (Plan.WALK, Plan.SEEK), which, unlike the filters on SQLite's walk, is sought.
    PostgreSQL too walked the key's index from its start testing the filter on the due date
    itself, not the key: page 1 of `due_after=2027-06-01` by due date took 1.9 s at 1M."""
    bounds = _key_bounds(shape, field, key)
    if not bounds or plan not in (Plan.WALK, Plan.SEEK, Plan.STATES_IN_ORDER):
        return where, start
    if plan is Plan.STATES_IN_ORDER:
        return where + bounds, start
    return where, and_(*bounds) if start is None else and_(start, *bounds)


def in_parts(sort: ActionSort, plan: Plan) -> bool:
    """Whether a page after a cursor is read in two parts in turn (`parts_statements`): by due
    date, walking the actions (Plan.WALK) or a past day's states (Plan.STATES_IN_ORDER) in
    that order."""
    return plan in (Plan.WALK, Plan.STATES_IN_ORDER) and sort.field == "due_date"


@lru_cache(maxsize=128)
def parts_statements(
    shape: tuple[str, ...], sort: ActionSort, plan: Plan, columns: Columns = PAGE_COLUMNS
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """A page after a cursor in two parts, each seeking its start in the index on (key, id):
    the rest of the cursor's key in id order, then the keys beyond it; the second is read only
    when the first leaves the page short. SQLite seeks an index on an expression (the due
    date's) by the expression alone, never by the pair `(key, id) > (?, ?)` as it does a
    column's: one walk from the cursor's key tested every state of that key before the cursor
    again (page 20 of a past day by -due_date, 1M actions: 10 to 84 ms); today's walk of the
    actions did not seek at all, but read the index from its start to the cursor (page 20 of
    `year=2020` by due date: 1.6 s, every action before it read from the table)."""
    key = sort_key(sort)
    assert key is not None
    last_id = bindparam("after_id", type_=Integer())
    last_key = bindparam("after_key", type_=key.type)
    descending = sort.descending
    same_key = and_(key == last_key, A.id < last_id if descending else A.id > last_id)
    beyond = key < last_key if descending else key > last_key
    parts = []
    for order, after in (
        ([(A.id, descending)], same_key),
        ([(key, descending), (A.id, descending)], beyond),
    ):
        where, start = _bounded(shape, sort.field, key, plan, filter_conditions(shape), after)
        parts.append(
            paged(where=where, order=order, after=start, key=key, plan=plan, columns=columns)
        )
    return parts[0], parts[1]


def _key_bounds(shape: tuple[str, ...], field: str, key: ColumnElement[Any]) -> list[Any]:
    """What the filters imply of the sort's key, as conditions on the key itself: a walk of
    the states in the key's order (Plan.STATES_IN_ORDER) then starts and ends where the
    matches do, rather than step over every state before them (`priority=low` by `-priority`
    would pass the states of every other priority first). Implied: the same rows match."""
    if field == "priority" and "priorities" in shape:
        return [key.in_(bindparam("priority_ranks", expanding=True))]
    if field != "due_date":
        return []
    bounds = {
        "due_before": key < bindparam("due_before", type_=Date()),
        "due_after": key > bindparam("due_after", type_=Date()),
        "overdue": key < AS_OF,
    }
    return [bound for name, bound in bounds.items() if name in shape]
