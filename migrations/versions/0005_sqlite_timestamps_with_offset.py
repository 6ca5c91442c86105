"""SQLite: timestamps stored with their UTC offset

SQLite keeps timestamps as text. Until now the text had no offset and every value read back went
through a Python function that added it; with the offset stored, SQLAlchemy's compiled parser
reads an aware datetime straight from the text. All values are UTC, so text order stays time
order. PostgreSQL's timestamptz columns need nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Values are stored differently, tables and columns are the same: a dump made at 0004 (whose
# timestamps are ISO text with their offset either way) restores into 0005 (app.migrate).
changes_schema = False

OFFSET = "+00:00"

# Every timestamp column at revision 0004, spelled out: later models must not change the past.
TIMESTAMPS = {
    "owner": ("created_at", "updated_at"),
    "report": ("imported_at", "updated_at"),
    "api_token": ("created_at", "last_used_at", "expires_at", "revoked_at"),
    "finding": ("created_at", "updated_at", "withdrawn_at"),
    "action": ("created_at", "updated_at", "closed_at"),
    "action_event": ("created_at",),
    "evidence": ("created_at", "deleted_at"),
}


def _rewrite(assignment: str, condition: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in TIMESTAMPS.items():
        for column in columns:
            op.execute(
                f"UPDATE {table} SET {column} = {assignment.format(column=column)} "
                f"WHERE {condition.format(column=column)}"
            )


def upgrade() -> None:
    _rewrite("{column} || '" + OFFSET + "'", "{column} IS NOT NULL AND {column} NOT LIKE '%+__:__'")


def downgrade() -> None:
    _rewrite(
        f"substr({{column}}, 1, length({{column}}) - {len(OFFSET)})",
        "{column} LIKE '%" + OFFSET + "'",
    )
