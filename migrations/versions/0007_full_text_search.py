"""full-text search over actions: an FTS5 table on SQLite, a tsvector with a GIN index on
PostgreSQL, kept in step by triggers

Each action's document is its reference, title and description, its finding's text and its
question (the heading of the finding's section). Triggers on action, finding and section
rewrite an action's document in the same transaction as any write that changes it, whatever
path the write takes (the service, a bulk UPDATE, a restore); an action's deletion, cascades
included, removes it. Rows already present are indexed here.

Both databases read the same words: runs of letters and digits, case-folded, no stemming and
no stop words. SQLite: FTS5's unicode61 tokenizer, diacritics kept. PostgreSQL: every run of
anything but letters and digits becomes a space before the `simple` configuration reads the
text, so that its parser makes no compound words, hosts, e-mail addresses or numbers with
points: "CUM-PEEL15" is the two words "cum" and "peel15" on both.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# The search index is derived from the tables and not dumped; the tables and columns are those
# of 0006, and a restore fills the index through the triggers (app.migrate.same_tables).
changes_schema = False

# One text per action; NULL parts (no section) are left out.
_SQLITE_DOCUMENT = """
SELECT a.id, a.reference || ' ' || a.title || ' ' || a.description || ' ' || f.text
             || coalesce(' ' || s.heading, '')
FROM action AS a
JOIN finding AS f ON f.id = a.finding_id
LEFT JOIN section AS s ON s.id = f.section_id
"""

_SQLITE_INSERT = f"INSERT INTO action_search (rowid, document) {_SQLITE_DOCUMENT}"

_SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE action_search USING fts5("
    "document, tokenize = 'unicode61 remove_diacritics 0')",
    _SQLITE_INSERT,
    f"""
    CREATE TRIGGER action_search_action_insert AFTER INSERT ON action BEGIN
        {_SQLITE_INSERT} WHERE a.id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER action_search_action_update
    AFTER UPDATE OF reference, title, description, finding_id ON action
    WHEN OLD.reference IS NOT NEW.reference OR OLD.title IS NOT NEW.title
        OR OLD.description IS NOT NEW.description OR OLD.finding_id IS NOT NEW.finding_id
    BEGIN
        DELETE FROM action_search WHERE rowid = OLD.id;
        {_SQLITE_INSERT} WHERE a.id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER action_search_action_delete AFTER DELETE ON action BEGIN
        DELETE FROM action_search WHERE rowid = OLD.id;
    END
    """,
    f"""
    CREATE TRIGGER action_search_finding_update AFTER UPDATE OF text, section_id ON finding
    WHEN OLD.text IS NOT NEW.text OR OLD.section_id IS NOT NEW.section_id
    BEGIN
        DELETE FROM action_search WHERE rowid IN (SELECT id FROM action WHERE finding_id = NEW.id);
        {_SQLITE_INSERT} WHERE a.finding_id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER action_search_section_update AFTER UPDATE OF heading ON section
    WHEN OLD.heading IS NOT NEW.heading
    BEGIN
        DELETE FROM action_search WHERE rowid IN (
            SELECT a.id FROM action AS a JOIN finding AS f ON f.id = a.finding_id
            WHERE f.section_id = NEW.id
        );
        {_SQLITE_INSERT} WHERE f.section_id = NEW.id;
    END
    """,
)

_SQLITE_DOWNGRADE = (
    "DROP TRIGGER action_search_section_update",
    "DROP TRIGGER action_search_finding_update",
    "DROP TRIGGER action_search_action_delete",
    "DROP TRIGGER action_search_action_update",
    "DROP TRIGGER action_search_action_insert",
    "DROP TABLE action_search",
)

# Upserts the documents of the actions (`{actions}`: the table, or the rows a statement
# inserted) that `{where}` selects.
_PG_UPSERT = """
INSERT INTO action_search (action_id, document)
SELECT a.id, action_search_document(a.reference, a.title, a.description, f.text, s.heading)
FROM {actions} AS a
JOIN finding AS f ON f.id = a.finding_id
LEFT JOIN section AS s ON s.id = f.section_id
WHERE {where}
ON CONFLICT (action_id) DO UPDATE SET document = EXCLUDED.document
"""


def _pg_trigger_function(name: str, where: str, actions: str = "action") -> str:
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_PG_UPSERT.format(actions=actions, where=where)};
        RETURN NULL;
    END
    $$
    """


_PG_UPGRADE = (
    """
    CREATE TABLE action_search (
        action_id integer NOT NULL,
        document tsvector NOT NULL,
        CONSTRAINT pk_action_search PRIMARY KEY (action_id),
        CONSTRAINT fk_action_search_action_id_action FOREIGN KEY (action_id)
            REFERENCES action (id) ON DELETE CASCADE
    )
    """,
    # Every run of anything but letters and digits (\W is neither, nor _) becomes a space;
    # letters and digits follow the database's character classes (its ctype).
    """
    CREATE FUNCTION action_search_document(
        reference text, title text, description text, finding text, question text
    ) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT to_tsvector(
            'simple'::regconfig,
            regexp_replace(
                concat_ws(' ', reference, title, description, finding, question),
                '[\\W_]+', ' ', 'g'
            )
        )
    $$
    """,
    _PG_UPSERT.format(actions="action", where="true"),
    "CREATE INDEX ix_action_search_document ON action_search USING gin (document)",
    _pg_trigger_function("action_search_from_inserted", "true", actions="inserted_action"),
    _pg_trigger_function("action_search_from_action", "a.id = NEW.id"),
    _pg_trigger_function("action_search_from_finding", "a.finding_id = NEW.id"),
    _pg_trigger_function("action_search_from_section", "f.section_id = NEW.id"),
    # Once per statement, over the rows it inserted: bulk inserts index in one go.
    """
    CREATE TRIGGER action_search_action_insert AFTER INSERT ON action
    REFERENCING NEW TABLE AS inserted_action
    FOR EACH STATEMENT EXECUTE FUNCTION action_search_from_inserted()
    """,
    """
    CREATE TRIGGER action_search_action_update
    AFTER UPDATE OF reference, title, description, finding_id ON action FOR EACH ROW
    WHEN (OLD.reference IS DISTINCT FROM NEW.reference OR OLD.title IS DISTINCT FROM NEW.title
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.finding_id IS DISTINCT FROM NEW.finding_id)
    EXECUTE FUNCTION action_search_from_action()
    """,
    """
    CREATE TRIGGER action_search_finding_update AFTER UPDATE OF text, section_id ON finding
    FOR EACH ROW
    WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.section_id IS DISTINCT FROM NEW.section_id)
    EXECUTE FUNCTION action_search_from_finding()
    """,
    """
    CREATE TRIGGER action_search_section_update AFTER UPDATE OF heading ON section FOR EACH ROW
    WHEN (OLD.heading IS DISTINCT FROM NEW.heading)
    EXECUTE FUNCTION action_search_from_section()
    """,
)

# Deleting an action deletes its row through the foreign key.
_PG_DOWNGRADE = (
    "DROP TRIGGER action_search_section_update ON section",
    "DROP TRIGGER action_search_finding_update ON finding",
    "DROP TRIGGER action_search_action_update ON action",
    "DROP TRIGGER action_search_action_insert ON action",
    "DROP FUNCTION action_search_from_section()",
    "DROP FUNCTION action_search_from_finding()",
    "DROP FUNCTION action_search_from_action()",
    "DROP FUNCTION action_search_from_inserted()",
    "DROP TABLE action_search",
    "DROP FUNCTION action_search_document(text, text, text, text, text)",
)


def _run(statements: dict[str, Sequence[str]]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in statements:
        raise NotImplementedError(f"full-text search is not written for {dialect}")
    for statement in statements[dialect]:
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": _SQLITE_UPGRADE, "postgresql": _PG_UPGRADE})


def downgrade() -> None:
    _run({"sqlite": _SQLITE_DOWNGRADE, "postgresql": _PG_DOWNGRADE})
