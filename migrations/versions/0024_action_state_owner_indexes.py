"""action_state: an owner's states, in id and in due-date order

A past day's list filtered by an owner read every state that held at the day's end (at 1M
actions, a range of about a million entries of ix_action_state_held) to find the few of that
owner, or walked every action in id order joined to its state: 150 ms to 2 s a page. These
indexes find them directly: an owner's states in action order (pages by id, and the actions not
overdue of the days-overdue sort) and in due-date order (the overdue ones, worst first). They
are narrow (no timestamps: about 60 to 90 MB each at 4.2M states on SQLite, against 400 MB with
every column a page tests): a page reads its few dozen states from the table. A report's states
come from ix_action_state_report (0027), which also serves the trend.

Both are partial, of the states that have an owner: an owner filter (`owner_id = ?`) implies
it, and the unassigned states (a fifth at 1M) are left out, so that SQLite's planner cannot
take them for `owner_id IS NULL` (the trend with `unassigned=true` read 850,000 states one by
one from the table through them: 13 s against 2.8 s reading the range of every state).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 16:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0023 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
INDEXES = {
    "ix_action_state_owner_id": ["owner_id", "action_id"],
    "ix_action_state_owner_due": ["owner_id", "due_date", "action_id"],
}


WHERE = "owner_id IS NOT NULL"


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(
            name,
            "action_state",
            columns,
            sqlite_where=text(WHERE),
            postgresql_where=text(WHERE),
        )
    op.execute("ANALYZE action_state")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="action_state")
