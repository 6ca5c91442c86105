"""Counts of actions per group and status, kept in step with every write (migration 0014).

Triggers append each write's signed contribution to `action_tally_delta`; `compact` folds the
deltas into `action_tally`, one row per (dimension, key) with a column per figure. A read adds
up both in one statement, so it sees exactly the actions its snapshot sees. Appending takes no
lock another writer waits for. A fold updates the rows of `action_tally`, so one runs at a time
(on PostgreSQL an advisory lock: a writer that finds it taken leaves the fold to the other),
and only once enough deltas have gathered (`compact_if_due`, at each commit).

Neither table is an ORM model: they are derived data, left out of dumps (a restore fills them
through the triggers) and of the comparison of models with the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import add
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.enums import ActionStatus
from app.services.overdue_rule import ACTIVE_STATUSES
from app.services.search_index import is_index_table

if TYPE_CHECKING:
    from app.db import Reader

_METADATA = MetaData()
_STATUSES = tuple(status.value for status in ActionStatus)
_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
DELTA = Table(
    "action_tally_delta",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer),
    Column("owner_id", Integer),
    Column("priority", String),
    Column("rag", String),
    Column("status", String),
    Column("force", String),
    Column("pillar", String),
    Column("n", Integer),
    Column("dated_held", Integer),
    Column("on_time_original", Integer),
    Column("on_time_revised", Integer),
)
# Per group: the actions of each status, the dated ones held to their due date of each active
# status, and the completed ones closed on time.
_FIGURES = (
    *(f"n_{status}" for status in _STATUSES),
    *(f"dated_{status}" for status in _ACTIVE),
    "on_time_original",
    "on_time_revised",
)
TALLY = Table(
    "action_tally",
    _METADATA,
    Column("dim", String, primary_key=True),
    Column("has_key", Boolean, primary_key=True),
    Column("key", String, primary_key=True),
    *(Column(name, Integer) for name in _FIGURES),
)
TABLE_NAMES = frozenset(_METADATA.tables)
_D = DELTA.c
_T = TALLY.c

# Per dimension, the delta's key column; in the tally a key is text ('' and has_key false for
# none).
_KEY_COLUMN: dict[str, Column[Any]] = {
    "status": _D.status,
    "owner": _D.owner_id,
    "priority": _D.priority,
    "rag": _D.rag,
    "report": _D.report_id,
    "force": _D.force,
    "pillar": _D.pillar,
}
DIMENSIONS = tuple(_KEY_COLUMN)
_NULLABLE = frozenset({"owner", "rag", "pillar"})
_INTEGER_KEYS = frozenset({"owner", "report"})
# Fold once this many deltas have gathered: reading them costs a few milliseconds.
FOLD_AFTER = 5000
# PostgreSQL advisory lock held by the fold (a constant the application uses for nothing else).
_FOLD_LOCK = 0x41465401


def is_derived_table(name: str) -> bool:
    """Whether a table is derived data kept by triggers (the search index, the tallies)."""
    return name in TABLE_NAMES or is_index_table(name)


def not_derived_table(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's `include_name` for comparing models with the database: derived tables are no
    models, so the comparison leaves them out."""
    return not (type_ == "table" and name is not None and is_derived_table(name))


def _figure_sums(rows: Any) -> list[ColumnElement[Any]]:
    """The tally's figures summed over delta-shaped `rows`."""
    c = rows.c
    sums = [
        func.sum(case((c.status == status, c.n), else_=0)).label(f"n_{status}")
        for status in _STATUSES
    ]
    sums += [
        func.sum(case((c.status == status, c.dated_held), else_=0)).label(f"dated_{status}")
        for status in _ACTIVE
    ]
    return [
        *sums,
        func.sum(c.on_time_original).label("on_time_original"),
        func.sum(c.on_time_revised).label("on_time_revised"),
    ]


def _keyed(dim: str, source: Any) -> Select[Any]:
    """`source`'s delta-shaped rows with the dimension's key as the tally holds it."""
    key = source.c[_KEY_COLUMN[dim].name]
    as_text = cast(key, String) if dim in _INTEGER_KEYS else key
    has_key: ColumnElement[Any] = key.is_not(None) if dim in _NULLABLE else true()
    return select(
        literal(dim).label("dim"),
        has_key.label("has_key"),
        func.coalesce(as_text, "").label("key"),
        *(source.c[name] for name in ("status", "n", "dated_held")),
        *(source.c[name] for name in ("on_time_original", "on_time_revised")),
    )


def _fold(source: Any, dims: tuple[str, ...]) -> Select[Any]:
    """Delta-shaped rows of `source` folded per dimension and key, as tally rows."""
    rows = union_all(*(_keyed(dim, source) for dim in dims)).subquery("keyed")
    return select(rows.c.dim, rows.c.has_key, rows.c.key, *_figure_sums(rows)).group_by(
        rows.c.dim, rows.c.has_key, rows.c.key
    )


class Group(NamedTuple):
    """What a group's actions add up to: per status, how many; per active status, how many are
    dated and held to their due date; the completed ones closed on time."""

    counts: dict[str, int]
    dated: dict[str, int]
    on_time_original: int
    on_time_revised: int


def folded_figures(dim: str) -> Select[Any]:
    """The folded figures of `dim`'s keys: has_key, key (as text) and a column per figure."""
    return select(_T.has_key, _T.key, *(_T[name] for name in _FIGURES)).where(_T.dim == dim)


def pending_figures(dim: str) -> Select[Any]:
    """The deltas of `dim` not yet folded, added up per key, shaped as `folded_figures`."""
    fold = _fold(DELTA, (dim,))
    return fold.with_only_columns(
        *(column for column in fold.selected_columns if column.name != "dim")
    )


def read(db: Reader, dim: str) -> dict[Any, Group]:
    """Per key of `dim` (None for none; owner and report ids as ints): the folded figures plus
    the deltas not yet folded, in one statement. Keys with no actions are left out."""
    stored, pending = folded_figures(dim), pending_figures(dim)
    # Added up here rather than grouped in SQL: a key is in both parts only when deltas for it
    # are pending, and a GROUP BY would sort every row (tens of thousands by report). The
    # figures are ints on both databases (SUM of an integer column is a bigint on PostgreSQL).
    integer = dim in _INTEGER_KEYS
    summed: dict[Any, list[int]] = {}
    for has_key, key, *figures in db.execute(union_all(stored, pending)):
        group = (int(key) if integer else key) if has_key else None
        before = summed.get(group)
        summed[group] = figures if before is None else list(map(add, before, figures))
    statuses, active = len(_STATUSES), len(_ACTIVE)
    found: dict[Any, Group] = {}
    for group, figures in summed.items():
        counts = dict(zip(_STATUSES, figures[:statuses], strict=True))
        if not any(figures[:statuses]):
            continue
        dated = dict(zip(_ACTIVE, figures[statuses : statuses + active], strict=True))
        found[group] = Group(counts, dated, figures[-2], figures[-1])
    return found


class Keys(NamedTuple):
    """Which keys of a dimension `summed` adds up (see there)."""

    dim: str
    keys: Select[Any] | Sequence[str] | None
    keyless: bool = False


def summed(
    db: Reader,
    dim: str,
    keys: Select[Any] | Sequence[str] | None,
    params: Mapping[str, Any] | None = None,
    *,
    keyless: bool = False,
) -> Group:
    """The figures of the keys of `dim` that `keys` selects, added up: folded and pending, in
    one statement. `keys`: a statement of one column, the key as the action holds it (an int
    for owner and report); or the keys themselves as text (a RAG's); or None, every key of the
    dimension. With `keyless`, the actions without a key (a nullable dimension's: no owner, no
    RAG) too; so `keys` () and `keyless` are the actions without one alone. For some keys of
    many (a programme's reports, the owners), where `read` would fetch every key's."""
    key_column = _KEY_COLUMN[dim]
    stored_keys: list[ColumnElement[bool]] = []
    pending_keys: list[ColumnElement[bool]] = []
    if keys is None:
        stored_keys.append(_T.has_key == true())
        pending_keys.append(key_column.is_not(None))
    elif isinstance(keys, Select):
        column = keys.selected_columns[0]
        as_text = cast(column, String) if dim in _INTEGER_KEYS else column
        stored_keys.append(and_(_T.has_key == true(), _T.key.in_(keys.with_only_columns(as_text))))
        pending_keys.append(key_column.in_(keys))
    elif keys:
        stored_keys.append(and_(_T.has_key == true(), _T.key.in_(list(keys))))
        pending_keys.append(key_column.in_(list(keys)))
    if keyless:
        stored_keys.append(_T.has_key == false())
        pending_keys.append(key_column.is_(None))
    stored = select(*(func.sum(_T[name]) for name in _FIGURES)).where(
        _T.dim == dim, or_(false(), *stored_keys)
    )
    pending = select(*_figure_sums(DELTA)).where(or_(false(), *pending_keys))
    totals = [0] * len(_FIGURES)
    for row in db.execute(union_all(stored, pending), params):
        totals = [total + int(value or 0) for total, value in zip(totals, row, strict=True)]
    statuses, active = len(_STATUSES), len(_ACTIVE)
    return Group(
        dict(zip(_STATUSES, totals[:statuses], strict=True)),
        dict(zip(_ACTIVE, totals[statuses : statuses + active], strict=True)),
        totals[-2],
        totals[-1],
    )


def _insert_folded(connection: Connection, fold: Select[Any]) -> None:
    """Adds folded rows to the tally, to the figures of keys it already holds."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(TALLY).from_select(["dim", "has_key", "key", *_FIGURES], fold)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[_T.dim, _T.has_key, _T.key],
            set_={name: _T[name] + statement.excluded[name] for name in _FIGURES},
        )
    )


def compact(connection: Connection) -> bool:
    """Fold every delta this transaction sees into the tally; False when another transaction
    is folding (PostgreSQL), which will fold them."""
    if connection.dialect.name == "postgresql":
        if not connection.scalar(text(f"SELECT pg_try_advisory_xact_lock({_FOLD_LOCK})")):
            return False
        # Exactly the deltas deleted here are added: those another writer commits meanwhile
        # stay for the next fold.
        moved = DELTA.delete().returning(*DELTA.c).cte("moved_delta")
        _insert_folded(connection, _fold(moved, DIMENSIONS))
    else:
        # SQLite: this transaction holds the write lock, so it sees every delta there is.
        _insert_folded(connection, _fold(DELTA, DIMENSIONS))
        connection.execute(DELTA.delete())
    connection.execute(TALLY.delete().where(*(_T[f"n_{status}"] == 0 for status in _STATUSES)))
    return True


def compact_if_due(session: Session) -> None:
    """Fold the deltas once FOLD_AFTER of them have gathered (at a write's commit)."""
    connection = session.connection()
    gathered = select(func.count()).select_from(select(_D.id).limit(FOLD_AFTER).subquery())
    if (connection.scalar(gathered) or 0) >= FOLD_AFTER:
        compact(connection)
