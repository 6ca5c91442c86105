"""The full-text index of actions in SQL: which actions match a search, and how well.

The index is the table `action_search` (migration 0006): an FTS5 table on SQLite whose rowid is
the action's id, a tsvector per action with a GIN index on PostgreSQL. It is not an ORM model:
its form differs between the databases, and it is derived data that triggers keep in step.
The elements here compile to each database's own SQL, so that a statement built once serves
both; the search itself travels as two parameters, one per database (`search_params`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Float,
    FromClause,
    Integer,
    Join,
    Select,
    String,
    and_,
    bindparam,
    func,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType

from app.services.search import SearchQuery

TABLE_NAME = "action_search"
_TABLE = table(TABLE_NAME)
# The text search configuration PostgreSQL reads documents and queries with (see 0006).
_PG_CONFIG = "simple"

_MATCH = bindparam("q_match", type_=String())
_TSQUERY = bindparam("q_tsquery", type_=String())


def is_index_table(name: str) -> bool:
    """Whether a table of the database belongs to the search index (FTS5 makes several)."""
    return name == TABLE_NAME or name.startswith(TABLE_NAME + "_")


def not_index_table(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's `include_name` for comparing models with the database: the index's tables are
    no models, so the comparison leaves them out."""
    return not (type_ == "table" and name is not None and is_index_table(name))


def search_params(query: SearchQuery) -> dict[str, Any]:
    return {"q_match": query.fts5(), "q_tsquery": query.tsquery()}


class _ActionId(FunctionElement[int]):
    type = Integer()
    name = "search_action_id"
    inherit_cache = True


class _Matches(FunctionElement[Any]):
    """Whether the indexed action matches; takes both databases' forms of the search."""

    # Not Boolean: SQLAlchemy would write `= 1` after it on SQLite, which MATCH does not take.
    type = NullType()
    name = "search_matches"
    inherit_cache = True

    def __init__(self) -> None:
        super().__init__(_MATCH, _TSQUERY)


class _Rank(FunctionElement[float]):
    """How well the indexed action matches: lower is better, as bm25() has it."""

    type = Float()
    name = "search_rank"
    inherit_cache = True

    def __init__(self) -> None:
        super().__init__(_TSQUERY)


def _arguments(element: FunctionElement[Any]) -> list[ColumnElement[Any]]:
    return list(element.clauses)


@compiles(_ActionId, "sqlite")
def _action_id_sqlite(element: _ActionId, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{TABLE_NAME}.rowid"


@compiles(_ActionId, "postgresql")
def _action_id_pg(element: _ActionId, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{TABLE_NAME}.action_id"


def _tsquery(compiler: SQLCompiler, tsquery: ColumnElement[Any], **kw: Any) -> str:
    return f"to_tsquery('{_PG_CONFIG}', {compiler.process(tsquery, **kw)})"


@compiles(_Matches, "sqlite")
def _matches_sqlite(element: _Matches, compiler: SQLCompiler, **kw: Any) -> str:
    match, _ = _arguments(element)
    return f"{TABLE_NAME} MATCH {compiler.process(match, **kw)}"


@compiles(_Matches, "postgresql")
def _matches_pg(element: _Matches, compiler: SQLCompiler, **kw: Any) -> str:
    _, tsquery = _arguments(element)
    return f"{TABLE_NAME}.document @@ {_tsquery(compiler, tsquery, **kw)}"


@compiles(_Rank, "sqlite")
def _rank_sqlite(element: _Rank, compiler: SQLCompiler, **kw: Any) -> str:
    return f"bm25({TABLE_NAME})"


@compiles(_Rank, "postgresql")
def _rank_pg(element: _Rank, compiler: SQLCompiler, **kw: Any) -> str:
    # Normalised by the document's length (1: divided by 1 + its log), as bm25 is. A double:
    # a real travels as text with the digits that tell reals apart, which a double read from
    # it does not equal, and the cursor's key must equal the rank it was read from.
    (tsquery,) = _arguments(element)
    rank = f"ts_rank({TABLE_NAME}.document, {_tsquery(compiler, tsquery, **kw)}, 1)"
    return f"-CAST({rank} AS DOUBLE PRECISION)"


def matching_ids() -> Select[int]:
    """The ids of the actions that match the search."""
    return select(_ActionId()).select_from(_TABLE).where(_Matches())


class _StatusIn(FunctionElement[Any]):
    """PostgreSQL: the indexed action's status is one of `search_statuses` (a list of str), as
    the second column of the search table's GIN index has it (migration 0025)."""

    type = NullType()
    name = "search_status_in"
    inherit_cache = True

    def __init__(self) -> None:
        super().__init__(bindparam("search_statuses", type_=String()))


@compiles(_StatusIn, "postgresql")
def _status_in_pg(element: _StatusIn, compiler: SQLCompiler, **kw: Any) -> str:
    (statuses,) = _arguments(element)
    # The index's expression, exactly: ARRAY[status::text].
    rendered = compiler.process(statuses, **kw)
    return f"ARRAY[{TABLE_NAME}.status::text] && CAST({rendered} AS TEXT[])"


def status_params(statuses: Sequence[str]) -> dict[str, Any]:
    return {"search_statuses": [str(status) for status in statuses]}


def count_matching_statuses() -> Select[int]:
    """PostgreSQL only: how many matches have one of the statuses (`status_params`), from the
    search table alone, its status kept in step with the action's (migration 0025). Its GIN
    index holds the document and the status, so only the rows matching both are read from the
    heap, rather than every match read and joined to the actions of those statuses."""
    return select(func.count()).select_from(_TABLE).where(_Matches(), _StatusIn())


def ranked_matches() -> Select[int, float]:
    """The matching actions' ids (`action_id`) with their rank (`rank`: lower is better)."""
    return (
        select(_ActionId().label("action_id"), _Rank().label("rank"))
        .select_from(_TABLE)
        .where(_Matches())
    )


def indexed_id() -> ColumnElement[int]:
    """The matching action's id as the index holds it (FTS5's rowid: its order)."""
    return _ActionId()


def matching_in_index_order(action: FromClause) -> Join:
    """The index's matches joined to their actions, the search condition in the join: on SQLite
    FTS5 yields them in id order and takes a bound on `indexed_id()` as a range of its own."""
    return _TABLE.join(action, and_(action.c.id == _ActionId(), _Matches()))
