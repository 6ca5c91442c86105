"""action_state: the states by due date, for the actions newly overdue in a window, in order

GET /api/v1/changes pages its items oldest first; the actions that became overdue in the
window are the states whose due date is in it, read in (due date, action) order. Without an
index in that order every page read every state that held in the window (a range of
ix_action_state_held: at 1M actions, the million current states) and sorted those due in it;
`ix_action_state_due_date` holds them in order with the columns that decide whether each
counts (status, withdrawal, the moments it held), so that a page reads from its cursor to its
end. The table is only read for the states that count (their action's reference and title).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# An index only: the tables and columns are those of 0019 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
COLUMNS = ["due_date", "action_id", "status", "finding_withdrawn_at", "valid_from", "valid_to"]


def upgrade() -> None:
    op.create_index("ix_action_state_due_date", "action_state", COLUMNS)
    op.execute("ANALYZE action_state")


def downgrade() -> None:
    op.drop_index("ix_action_state_due_date", table_name="action_state")
