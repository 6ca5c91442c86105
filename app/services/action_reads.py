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
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from app import clock
from app.db import Reader
from app.schemas.filters import ActionFilters, ActionSort
from app.services.action_filters import ACTION, A, filter_conditions, filter_values
from app.services.action_pages import BASE, PAGE_COLUMNS, Columns
from app.services.as_of import at_day, cutoff_params, is_past
from app.services.cursors import (
    Cursor,
    InvalidCursor,
    Position,
    decode_cursor,
    encode_cursor,
    filters_fingerprint,
)
from app.services.overdue_rule import days_overdue
from app.services.page_rows import fetch_rows
from app.services.past_progress import as_they_were
from app.services.search_index import count_matching_statuses, matching_ids, status_params
from app.services.stale_rule import is_stale, stale_before

_SELECTED = tuple(BASE.selected_columns.keys())
_OWNER_AT = _SELECTED.index("owner_name")
_NAMES = _SELECTED[:_OWNER_AT]
if _SELECTED[_OWNER_AT:] != ("owner_name", "owner_email", "owner_team"):
    raise RuntimeError("_to_dict reads the owner's columns last; keep them last in the columns")
Read = TypeVar("Read")


# A search with statuses and nothing else is counted from the search table alone on PostgreSQL,
# whose rows hold the status (migration 0025), on today's answers (a past day's statuses are the
# states', not the actions').
_SEARCH_AND_STATUS = frozenset({"q", "statuses"})


def _count_from_search(db: Reader, shape: tuple[str, ...], as_of: date) -> bool:
    if frozenset(shape) != _SEARCH_AND_STATUS or is_past(as_of):
        return False
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name == "postgresql"


@lru_cache(maxsize=256)
def _count_statement(shape: tuple[str, ...], from_search: bool = False) -> Select[int]:
    if from_search:
        return count_matching_statuses()
    if shape == ("q",):
        # Every action has one row in the index, and a finding and a report: count the index.
        return select(func.count()).select_from(matching_ids().subquery())
    return select(func.count()).select_from(ACTION).where(*filter_conditions(shape))


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
    data["stale"] = is_stale(
        status=data["status"],
        last_progress_at=data["last_progress_at"],
        created_at=data["created_at"],
        before=stale_before(as_of),
    )
    return data


_ONE = BASE.where(A.id == bindparam("action_id"))
_MANY = BASE.where(A.id.in_(bindparam("action_ids", expanding=True)))


def many_actions(*, db: Reader, action_ids: Sequence[int], as_of: date) -> list[dict[str, Any]]:
    """The actions with these ids (as they stood on `as_of`, if a past day), in one statement,
    in the order of `action_ids`."""
    params = {"action_ids": action_ids, **cutoff_params(as_of)}
    by_id = {row[0]: _to_dict(row, as_of) for row in db.execute(at_day(_MANY, as_of), params)}
    found = [by_id[action_id] for action_id in action_ids if action_id in by_id]
    as_they_were(db=db, actions=found, as_of=as_of)
    return found


def one_action(*, db: Reader, action_id: int, as_of: date) -> dict[str, Any] | None:
    """One action as the dict an ActionOut is made from (as it stood on `as_of`, if a past
    day); None if there is no such action (or there was none yet)."""
    params = {"action_id": action_id, **cutoff_params(as_of)}
    row = db.execute(at_day(_ONE, as_of), params).first()
    if row is None:
        return None
    found = _to_dict(row, as_of)
    as_they_were(db=db, actions=[found], as_of=as_of)
    return found


def _dicts(
    db: Reader, rows: Sequence[Row[Any]], as_of: date, past_progress: bool = True
) -> list[dict[str, Any]]:
    """Rows of PAGE_COLUMNS as the dicts an ActionOut is made from, as they stood on `as_of`;
    without `past_progress`, the progress note and revision count are today's, even on a past
    day (see iter_batches)."""
    items = [_to_dict(row, as_of) for row in rows]
    if past_progress:
        as_they_were(db=db, actions=items, as_of=as_of)
    return items


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
    """Up to `limit` actions after `after` as plain dicts; and the position to continue from
    (None when there are no more)."""
    rows, following = fetch_rows(
        db=db, filters=filters, sort=sort, as_of=as_of, after=after, limit=limit
    )
    return _dicts(db, rows, as_of), following


def iter_row_batches(
    *,
    sessions: Callable[[], AbstractContextManager[Session]],
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    read: Callable[[Session, list[Row[Any]]], Read],
    batch: int = 500,
    columns: Columns = PAGE_COLUMNS,
) -> Iterator[Read]:
    """Every matching action's `columns` (and its sort key last), `batch` rows at a time by
    keyset, each batch as `read` makes it of the rows; each batch is read (and `read` run) in a
    session from `sessions()`, left before it is yielded."""
    after = None
    while True:
        with sessions() as session:
            rows, after = fetch_rows(
                db=session,
                filters=filters,
                sort=sort,
                as_of=as_of,
                after=after,
                limit=batch,
                columns=columns,
            )
            made = read(session, rows)
        yield made
        if after is None:
            return


def iter_batches(
    *,
    sessions: Callable[[], AbstractContextManager[Session]],
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    batch: int = 500,
    past_progress: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """Every matching action as plain dicts, `batch` at a time (see iter_row_batches).

    On a past day the progress note and the revision count are rebuilt from the history (two
    statements per batch, app.services.past_progress); a caller that never shows them passes
    `past_progress=False` and gets today's in those two fields instead."""
    yield from iter_row_batches(
        sessions=sessions,
        filters=filters,
        sort=sort,
        as_of=as_of,
        read=lambda session, rows: _dicts(session, rows, as_of, past_progress),
        batch=batch,
    )


def iter_actions(
    *,
    session: Session,
    filters: ActionFilters,
    sort: ActionSort,
    as_of: date,
    batch: int = 500,
    past_progress: bool = True,
) -> Iterator[dict[str, Any]]:
    """Every matching action, fetched `batch` at a time by keyset, all in the caller's session
    (`past_progress`: see iter_batches)."""
    batches = iter_batches(
        sessions=lambda: nullcontext(session),
        filters=filters,
        sort=sort,
        as_of=as_of,
        batch=batch,
        past_progress=past_progress,
    )
    for items in batches:
        yield from items


def count_actions(*, db: Reader, filters: ActionFilters, as_of: date) -> int:
    shape, params = filter_values(filters=filters, as_of=as_of)
    from_search = _count_from_search(db, shape, as_of)
    if from_search:
        params.update(status_params(params["statuses"]))
    statement = _count_statement(shape, from_search)
    return db.scalar(at_day(statement, as_of), params) or 0


def count_answer(*, db: Reader, filters: ActionFilters) -> bytes:
    """`count_actions` on `filters.as_of` (a day, not None), as the bytes of the number: an
    answer that app.kept_reads can keep."""
    assert filters.as_of is not None
    return str(count_actions(db=db, filters=filters, as_of=filters.as_of)).encode()


def page_day(*, filters: ActionFilters, sort: ActionSort, cursor: str | None) -> date:
    """The day a page of the list is judged on (see `list_page`)."""
    return _page_start(filters=filters, sort=sort, cursor=cursor)[0]


def _page_start(
    *, filters: ActionFilters, sort: ActionSort, cursor: str | None
) -> tuple[date, Position | None]:
    """A cursor fixes the day overdue is judged on to the first page's, so that a listing does
    not change its mind at midnight; an explicit, different `as_of` with it is refused."""
    if cursor is None:
        return filters.as_of or clock.today(), None
    decoded = decode_cursor(cursor, sort=sort, fingerprint=filters_fingerprint(filters))
    if filters.as_of is not None and filters.as_of != decoded.as_of:
        raise InvalidCursor(f"it was made for as_of={decoded.as_of.isoformat()}")
    return decoded.as_of, decoded.position


def list_page(
    *,
    db: Reader,
    filters: ActionFilters,
    sort: ActionSort = ActionSort.ID,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of actions as a plain dict shaped like `Page[ActionOut]`, on the day of
    `page_day`; its `total` None (counted apart: `count_answer`)."""
    fingerprint = filters_fingerprint(filters)
    as_of, after = _page_start(filters=filters, sort=sort, cursor=cursor)
    items, following = fetch_batch(
        db=db, filters=filters, sort=sort, as_of=as_of, after=after, limit=limit
    )
    next_cursor = (
        encode_cursor(Cursor(sort=sort, position=following, as_of=as_of, fingerprint=fingerprint))
        if following is not None
        else None
    )
    return {"items": items, "next_cursor": next_cursor, "total": None}
