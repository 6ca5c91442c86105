"""action_search (PostgreSQL): the action's status beside its document, in the same GIN
index, so that a search's count with statuses reads only the rows that match both

At 1M actions `q=safeguarding&status=open&count=true` took 0.76 s: the 90,675 matches were
read from the search table's heap (52,000 pages of 8 kB; the documents are stored inline) and
hashed against 300,000 open actions read from an index of `action`. With the status in the
search table and in its GIN index (`ARRAY[status]` as a second column: no extension needed),
the index gives the 26,888 rows that match both, and only their 22,600 heap pages are read
(app.services.search_index.count_matching_statuses). A btree on the status beside the GIN
index was tried: PostgreSQL intersects the two bitmaps, but the status's (300,000 rows) goes
lossy in the default 4 MB of work_mem and 36,500 pages are read. The GIN index serves the
searches without a status as the one on the document alone did.

The status follows the action's in the same transaction as every write, by trigger, as the
document does (0007): an action's insertion and any change of its status.

The table is rebuilt rather than updated in place (an UPDATE of every row would leave a dead
copy of each until a VACUUM, doubling the heap the counts read), in id order.

SQLite keeps its FTS5 table as it is: a column there would change every document's length and
so every bm25 rank; its counts test the status of each match through ix_action_id_filters
(0021).

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# The search index is derived data, not dumped (see 0007): the dumped tables are those of 0023.
changes_schema = False

# 0007's upsert, with or without the status (`{status}`, `{set_status}`).
_UPSERT = """
INSERT INTO action_search (action_id, document{status})
SELECT a.id,
    action_search_document(a.reference, a.title, a.description, f.text, s.heading){a_status}
FROM {actions} AS a
JOIN finding AS f ON f.id = a.finding_id
LEFT JOIN section AS s ON s.id = f.section_id
WHERE {where}
ON CONFLICT (action_id) DO UPDATE SET document = EXCLUDED.document{set_status}
"""

_FUNCTIONS = (
    ("action_search_from_inserted", "true", "inserted_action"),
    ("action_search_from_action", "a.id = NEW.id", "action"),
    ("action_search_from_finding", "a.finding_id = NEW.id", "action"),
    ("action_search_from_section", "f.section_id = NEW.id", "action"),
)


def _functions(with_status: bool) -> list[str]:
    parts = (
        {"status": ", status", "a_status": ", a.status", "set_status": ", status = EXCLUDED.status"}
        if with_status
        else {"status": "", "a_status": "", "set_status": ""}
    )
    return [
        f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {_UPSERT.format(actions=actions, where=where, **parts)};
            RETURN NULL;
        END
        $$
        """
        for name, where, actions in _FUNCTIONS
    ]


_REBUILD = (
    """
    CREATE TABLE action_search_new (
        action_id integer NOT NULL,
        document tsvector NOT NULL,
        status varchar(30) NOT NULL
    )
    """,
    """
    INSERT INTO action_search_new (action_id, document, status)
    SELECT s.action_id, s.document, a.status
    FROM action_search AS s JOIN action AS a ON a.id = s.action_id
    ORDER BY s.action_id
    """,
    "DROP TABLE action_search",
    "ALTER TABLE action_search_new RENAME TO action_search",
    "ALTER TABLE action_search ADD CONSTRAINT pk_action_search PRIMARY KEY (action_id)",
    """
    ALTER TABLE action_search ADD CONSTRAINT fk_action_search_action_id_action
        FOREIGN KEY (action_id) REFERENCES action (id) ON DELETE CASCADE
    """,
    """
    CREATE INDEX ix_action_search_document_status
    ON action_search USING gin (document, (ARRAY[status::text]))
    """,
)

_STATUS_TRIGGER = (
    """
    CREATE FUNCTION action_search_status_from_action() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE action_search SET status = NEW.status WHERE action_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER action_search_action_status AFTER UPDATE OF status ON action FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION action_search_status_from_action()
    """,
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (*_REBUILD, *_functions(with_status=True), *_STATUS_TRIGGER):
        op.execute(statement)
    op.execute("ANALYZE action_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
        "DROP TRIGGER action_search_action_status ON action",
        "DROP FUNCTION action_search_status_from_action()",
        *_functions(with_status=False),
        "DROP INDEX ix_action_search_document_status",
        "ALTER TABLE action_search DROP COLUMN status",
        "CREATE INDEX ix_action_search_document ON action_search USING gin (document)",
    ):
        op.execute(statement)
