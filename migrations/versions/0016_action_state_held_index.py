"""action_state: one covering index for "every state that held at a moment"

`ix_action_state_held` starts with (valid_to, valid_from), like the index it replaces, and
holds every column the answers on a past day count, filter and group by (status, due date,
withdrawal, owner, priority, RAG, report, action, closing, original due date, creation, last
progress, finding). A past day's stats, the overdue summary, a count and the trend then read
the states that held in a range of this index alone: the states that ended before the day
(two thirds of them at 1M actions) are not read, and no state is looked up in the table.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: later code must not change what this migration did.
HELD_COLUMNS = [
    "valid_to",
    "valid_from",
    "status",
    "due_date",
    "finding_withdrawn_at",
    "owner_id",
    "priority",
    "rag",
    "report_id",
    "action_id",
    "closed_at",
    "original_due_date",
    "created_at",
    "last_progress_at",
    "finding_id",
]


def upgrade() -> None:
    op.create_index("ix_action_state_held", "action_state", HELD_COLUMNS)
    # Its first two columns: the new index serves every range this one did.
    op.drop_index("ix_action_state_valid_to_valid_from", table_name="action_state")
    op.execute("ANALYZE action_state")


def downgrade() -> None:
    op.create_index(
        "ix_action_state_valid_to_valid_from", "action_state", ["valid_to", "valid_from"]
    )
    op.drop_index("ix_action_state_held", table_name="action_state")
