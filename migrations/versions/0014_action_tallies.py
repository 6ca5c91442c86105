"""action tallies: counts per group and status kept by triggers, for stats and the overdue summary

Every write of an action (insert, update of a counted column, delete, cascades included), every
withdrawal or restoration of a finding and every change of a report's force or pillar appends
signed rows to `action_tally_delta`, in the same transaction, whatever path the write takes (the
services, bulk Core imports, a restore, a hand-written UPDATE). Appending takes no lock another
writer waits for: no counter row is updated by every write. `action_tally` holds the same counts
folded per (dimension, key), a column per figure; `app.services.tallies.compact` folds the
deltas into it from time to time, and a read adds the deltas not yet folded. Rows already
present are counted here.

A delta row is one action's contribution (signed) to every dimension at once: its status, owner,
priority, rag, report, and the report's force and pillar (looked up when the row is written; a
report's actions are deleted just before the report, while its force is still known). Besides
the count `n` it carries what the stats add up per group and status: `dated_held`, the actions
with a due date whose finding is not withdrawn (overdue on a day = those, less the ones not yet
due, which the index below counts), and the completed ones closed (UTC day) on time by their
original and by their revised due date.

`ix_action_status_due_date` also holds the group columns, so that the active actions not yet due
on a day are counted per group from the index alone.

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Derived data only, not dumped: a restore fills it through the triggers (app.migrate.same_tables).
changes_schema = False

_STATUS_INDEX_BEFORE = [
    "status",
    "due_date",
    "finding_id",
    "closed_at",
    "original_due_date",
    "last_progress_at",
    "created_at",
]
_STATUS_INDEX_AFTER = [*_STATUS_INDEX_BEFORE, "owner_id", "priority", "rag", "report_id"]

_DELTA = (
    "report_id",
    "owner_id",
    "priority",
    "rag",
    "status",
    "force",
    "pillar",
    "n",
    "dated_held",
    "on_time_original",
    "on_time_revised",
)
_INSERT_DELTA = f"INSERT INTO action_tally_delta ({', '.join(_DELTA)}) "
_STATUSES = (
    "open",
    "in_progress",
    "blocked",
    "pending_sign_off",
    "completed",
    "superseded",
    "withdrawn",
)
_ACTIVE = ("open", "in_progress", "blocked")
# The tally's figures per group, and how each is summed from delta rows.
_FIGURES = {
    **{f"n_{status}": f"CASE WHEN status = '{status}' THEN n ELSE 0 END" for status in _STATUSES},
    **{
        f"dated_{status}": f"CASE WHEN status = '{status}' THEN dated_held ELSE 0 END"
        for status in _ACTIVE
    },
    "on_time_original": "on_time_original",
    "on_time_revised": "on_time_revised",
}
_FIGURE_SUMS = [f"sum({expression}) AS {name}" for name, expression in _FIGURES.items()]
_TALLY = f"dim, has_key, key, {', '.join(_FIGURES)}"

# Per dimension: whether a row has a key, and the key as text.
_DIMENSIONS = {
    "status": ("true", "status"),
    "owner": ("owner_id IS NOT NULL", "coalesce(CAST(owner_id AS {text}), '')"),
    "priority": ("true", "priority"),
    "rag": ("rag IS NOT NULL", "coalesce(rag, '')"),
    "report": ("true", "CAST(report_id AS {text})"),
    "force": ("true", "force"),
    "pillar": ("pillar IS NOT NULL", "coalesce(pillar, '')"),
}
# Columns of action that change what an action counts towards.
_COUNTED = (
    "status",
    "owner_id",
    "priority",
    "rag",
    "due_date",
    "finding_id",
    "closed_at",
    "original_due_date",
    "report_id",
)


def _fold(source: str, dialect: str) -> str:
    """Delta-shaped rows of `source` folded per dimension and key, a column per figure."""
    text_type = "TEXT" if dialect == "sqlite" else "text"
    parts = [
        f"SELECT '{dim}' AS dim, {test} AS has_key, {key.format(text=text_type)} AS key, "
        f"status, n, dated_held, on_time_original, on_time_revised FROM {source}"
        for dim, (test, key) in _DIMENSIONS.items()
    ]
    return (
        f"SELECT dim, has_key, key, {', '.join(_FIGURE_SUMS)} "
        f"FROM ({' UNION ALL '.join(parts)}) AS folded GROUP BY dim, has_key, key"
    )


def _contribution(dialect: str, row: str, sign: str, force: str, pillar: str) -> str:
    """One action's (`row`: NEW, OLD or an alias) contribution, signed, as a delta's columns."""
    if dialect == "sqlite":
        closed_day = f"substr({row}.closed_at, 1, 10)"
        flag = "({})"
    else:
        closed_day = f"CAST(timezone('UTC', {row}.closed_at) AS DATE)"
        flag = "CAST(({}) AS integer)"
    held = (
        f"{row}.due_date IS NOT NULL AND NOT EXISTS (SELECT 1 FROM finding AS wf "
        f"WHERE wf.id = {row}.finding_id AND wf.withdrawn_at IS NOT NULL)"
    )
    on_time = f"{row}.status = 'completed' AND coalesce({closed_day} <= {row}.{{due}}, false)"
    values = [
        f"{row}.report_id",
        f"{row}.owner_id",
        f"{row}.priority",
        f"{row}.rag",
        f"{row}.status",
        force,
        pillar,
        sign,
        f"{sign} * {flag.format(held)}",
        f"{sign} * {flag.format(on_time.format(due='original_due_date'))}",
        f"{sign} * {flag.format(on_time.format(due='due_date'))}",
    ]
    return ", ".join(f"{value} AS {name}" for value, name in zip(values, _DELTA, strict=True))


def _of_row(dialect: str, row: str, sign: str) -> str:
    """INSERT of the delta of one action row, its force and pillar read from its report."""
    columns = _contribution(dialect, row, sign, "r.force", "r.pillar")
    return f"{_INSERT_DELTA}SELECT {columns} FROM report AS r WHERE r.id = {row}.report_id"


def _withdrawal(sign: str) -> str:
    """A finding (NEW) withdrawn (-1) or restored (1): its dated actions stop or start counting
    against their due date; nothing else of theirs changes."""
    return (
        f"{_INSERT_DELTA}SELECT a.report_id, a.owner_id, a.priority, a.rag, a.status, r.force, "
        f"r.pillar, 0, {sign}, 0, 0 FROM action AS a JOIN report AS r ON r.id = a.report_id "
        "WHERE a.finding_id = NEW.id AND a.due_date IS NOT NULL"
    )


def _regroup(dialect: str, report: str, sign: str) -> str:
    """A report's (OLD or NEW) actions leave (-1) or join (1) its force's and pillar's groups."""
    columns = _contribution(dialect, "a", sign, f"{report}.force", f"{report}.pillar")
    return f"{_INSERT_DELTA}SELECT {columns} FROM action AS a WHERE a.report_id = {report}.id"


def _backfill(dialect: str) -> str:
    columns = _contribution(dialect, "a", "1", "r.force", "r.pillar")
    rows = f"(SELECT {columns} FROM action AS a JOIN report AS r ON r.id = a.report_id) AS d"
    return f"INSERT INTO action_tally ({_TALLY}) {_fold(rows, dialect)}"


_TABLES = (
    # No foreign keys: a delta outlives the action it counts (its deletion is a delta too).
    """
    CREATE TABLE action_tally_delta (
        id {id} NOT NULL,
        report_id INTEGER NOT NULL,
        owner_id INTEGER,
        priority VARCHAR(20) NOT NULL,
        rag VARCHAR(10),
        status VARCHAR(30) NOT NULL,
        force VARCHAR(200) NOT NULL,
        pillar VARCHAR(100),
        n INTEGER NOT NULL,
        dated_held INTEGER NOT NULL,
        on_time_original INTEGER NOT NULL,
        on_time_revised INTEGER NOT NULL,
        CONSTRAINT pk_action_tally_delta PRIMARY KEY (id)
    )
    """,
    f"""
    CREATE TABLE action_tally (
        dim VARCHAR(10) NOT NULL,
        has_key BOOLEAN NOT NULL,
        key VARCHAR(200) NOT NULL,
        {"".join(f"{name} INTEGER NOT NULL, " for name in _FIGURES)}
        CONSTRAINT pk_action_tally PRIMARY KEY (dim, has_key, key)
    )
    """,
)

_SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER action_tally_action_insert AFTER INSERT ON action BEGIN
        {_of_row("sqlite", "NEW", "1")};
    END
    """,
    f"""
    CREATE TRIGGER action_tally_action_update AFTER UPDATE OF {", ".join(_COUNTED)} ON action
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _COUNTED)}
    BEGIN
        {_of_row("sqlite", "OLD", "-1")};
        {_of_row("sqlite", "NEW", "1")};
    END
    """,
    f"""
    CREATE TRIGGER action_tally_action_delete AFTER DELETE ON action BEGIN
        {_of_row("sqlite", "OLD", "-1")};
    END
    """,
    f"""
    CREATE TRIGGER action_tally_finding_update AFTER UPDATE OF withdrawn_at ON finding
    WHEN (OLD.withdrawn_at IS NULL) IS NOT (NEW.withdrawn_at IS NULL)
    BEGIN
        {_withdrawal("CASE WHEN NEW.withdrawn_at IS NULL THEN 1 ELSE -1 END")};
    END
    """,
    f"""
    CREATE TRIGGER action_tally_report_update AFTER UPDATE OF force, pillar ON report
    WHEN OLD.force IS NOT NEW.force OR OLD.pillar IS NOT NEW.pillar
    BEGIN
        {_regroup("sqlite", "OLD", "-1")};
        {_regroup("sqlite", "NEW", "1")};
    END
    """,
    # Before the report goes (and its findings and their actions by cascade), while its force
    # and pillar can still be read: its actions' deletions are counted from the report.
    """
    CREATE TRIGGER action_tally_report_delete BEFORE DELETE ON report BEGIN
        DELETE FROM action WHERE report_id = OLD.id;
    END
    """,
)


def _pg_function(name: str, body: str) -> str:
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {body};
        RETURN {"OLD" if name.endswith("_before_delete") else "NULL"};
    END
    $$
    """


def _pg_table_contribution(table: str, sign: str) -> str:
    columns = _contribution("postgresql", "a", sign, "r.force", "r.pillar")
    return (
        f"{_INSERT_DELTA}SELECT {columns} FROM {table} AS a JOIN report AS r ON r.id = a.report_id"
    )


_PG_TRIGGERS = (
    _pg_function("action_tally_inserted", _pg_table_contribution("inserted_action", "1")),
    _pg_function("action_tally_deleted", _pg_table_contribution("deleted_action", "-1")),
    _pg_function(
        "action_tally_updated",
        f"{_of_row('postgresql', 'OLD', '-1')}; {_of_row('postgresql', 'NEW', '1')}",
    ),
    _pg_function(
        "action_tally_finding_withdrawn",
        _withdrawal("CASE WHEN NEW.withdrawn_at IS NULL THEN 1 ELSE -1 END"),
    ),
    _pg_function(
        "action_tally_report_regrouped",
        f"{_regroup('postgresql', 'OLD', '-1')}; {_regroup('postgresql', 'NEW', '1')}",
    ),
    _pg_function(
        "action_tally_report_before_delete", "DELETE FROM action WHERE report_id = OLD.id"
    ),
    # Once per statement over the rows it inserted or deleted: bulk writes count in one go.
    """
    CREATE TRIGGER action_tally_action_insert AFTER INSERT ON action
    REFERENCING NEW TABLE AS inserted_action
    FOR EACH STATEMENT EXECUTE FUNCTION action_tally_inserted()
    """,
    """
    CREATE TRIGGER action_tally_action_delete AFTER DELETE ON action
    REFERENCING OLD TABLE AS deleted_action
    FOR EACH STATEMENT EXECUTE FUNCTION action_tally_deleted()
    """,
    f"""
    CREATE TRIGGER action_tally_action_update AFTER UPDATE OF {", ".join(_COUNTED)} ON action
    FOR EACH ROW
    WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _COUNTED)})
    EXECUTE FUNCTION action_tally_updated()
    """,
    """
    CREATE TRIGGER action_tally_finding_update AFTER UPDATE OF withdrawn_at ON finding
    FOR EACH ROW
    WHEN ((OLD.withdrawn_at IS NULL) IS DISTINCT FROM (NEW.withdrawn_at IS NULL))
    EXECUTE FUNCTION action_tally_finding_withdrawn()
    """,
    """
    CREATE TRIGGER action_tally_report_update AFTER UPDATE OF force, pillar ON report
    FOR EACH ROW
    WHEN (OLD.force IS DISTINCT FROM NEW.force OR OLD.pillar IS DISTINCT FROM NEW.pillar)
    EXECUTE FUNCTION action_tally_report_regrouped()
    """,
    """
    CREATE TRIGGER action_tally_report_delete BEFORE DELETE ON report
    FOR EACH ROW EXECUTE FUNCTION action_tally_report_before_delete()
    """,
)

_SQLITE_DOWNGRADE = (
    "DROP TRIGGER action_tally_report_delete",
    "DROP TRIGGER action_tally_report_update",
    "DROP TRIGGER action_tally_finding_update",
    "DROP TRIGGER action_tally_action_delete",
    "DROP TRIGGER action_tally_action_update",
    "DROP TRIGGER action_tally_action_insert",
)
_PG_DOWNGRADE = (
    "DROP TRIGGER action_tally_report_delete ON report",
    "DROP TRIGGER action_tally_report_update ON report",
    "DROP TRIGGER action_tally_finding_update ON finding",
    "DROP TRIGGER action_tally_action_update ON action",
    "DROP TRIGGER action_tally_action_delete ON action",
    "DROP TRIGGER action_tally_action_insert ON action",
    "DROP FUNCTION action_tally_report_before_delete()",
    "DROP FUNCTION action_tally_report_regrouped()",
    "DROP FUNCTION action_tally_finding_withdrawn()",
    "DROP FUNCTION action_tally_updated()",
    "DROP FUNCTION action_tally_deleted()",
    "DROP FUNCTION action_tally_inserted()",
)


def _rebuild_status_index(columns: list[str]) -> None:
    op.drop_index("ix_action_status_due_date", table_name="action")
    op.create_index("ix_action_status_due_date", "action", columns)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"action tallies are not written for {dialect}")
    id_type = "INTEGER" if dialect == "sqlite" else "BIGINT GENERATED BY DEFAULT AS IDENTITY"
    op.execute(_TABLES[0].format(id=id_type))
    op.execute(_TABLES[1])
    # Counted before the triggers exist, in the same transaction (no write comes between).
    op.execute(_backfill(dialect))
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS:
        op.execute(statement)
    _rebuild_status_index(_STATUS_INDEX_AFTER)
    op.execute("ANALYZE action")
    op.execute("ANALYZE action_tally")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_DOWNGRADE if dialect == "sqlite" else _PG_DOWNGRADE:
        op.execute(statement)
    op.execute("DROP TABLE action_tally")
    op.execute("DROP TABLE action_tally_delta")
    _rebuild_status_index(_STATUS_INDEX_BEFORE)
