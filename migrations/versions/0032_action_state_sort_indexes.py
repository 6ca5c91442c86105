"""action_state: the states in the order of the due-date and the priority sorts

A past day's page sorted by due date or by priority, with no filter that leaves few states,
joined every action to the state that held and sorted the lot: at 1M actions 7 to 14 s on
SQLite, 1.4 to 1.5 s on PostgreSQL, for 50 rows. These indexes hold the states in each sort's
order (the due-date sort's key, undated last, as ix_action_due_date_sort holds today's), so that
a page walks them from its cursor, keeps those that held at the day's end and stops at the
page's end (app.services.page_plans, Plan.STATES_IN_ORDER). They are narrow, as the owner's
(0024): about four states are walked for each that held, each read from the table. An owner's
page walks the owner's states in the same orders (two partial indexes, as 0024's): collected
and sorted, those of an owner of 18,886 actions took 135 ms on SQLite.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-01 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0031 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
DUE_KEY = sa.text("coalesce(due_date, '9999-12-31')")
INDEXES = {
    "ix_action_state_due_sort": [DUE_KEY, "action_id"],
    "ix_action_state_priority_rank": ["priority_rank", "action_id"],
}
# An owner's states in each sort's order (partial, as the owner's indexes of 0024 are).
OWNER_INDEXES = {
    "ix_action_state_owner_due_sort": ["owner_id", DUE_KEY, "action_id"],
    "ix_action_state_owner_priority": ["owner_id", "priority_rank", "action_id"],
}
OWNED = "owner_id IS NOT NULL"


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "action_state", columns)
    for name, columns in OWNER_INDEXES.items():
        op.create_index(
            name,
            "action_state",
            columns,
            sqlite_where=sa.text(OWNED),
            postgresql_where=sa.text(OWNED),
        )
    op.execute("ANALYZE action_state")


def downgrade() -> None:
    for name in (*INDEXES, *OWNER_INDEXES):
        op.drop_index(name, table_name="action_state")
