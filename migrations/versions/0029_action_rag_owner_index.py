"""ix_action_rag_status also holds the owner: a RAG with the owner's absence or presence

The trend whose last days the delta counts (app.services.trend_delta) counts today's actions
of a RAG and an owner's absence or presence (`rag=red&unassigned=true`): neither index held
the other's column, so it read ix_action_status_due_date, every action of the statuses asked
(at 1M actions, 680,000 open ones and 440,000 active ones overdue; 340 to 550 ms). With the
owner after the RAG index's own columns, such a count reads the RAG's range alone.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0028 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
BEFORE = ["rag", "status", "due_date", "finding_id", "closed_at", "original_due_date"]
AFTER = [*BEFORE, "owner_id"]


def _rebuild(columns: list[str]) -> None:
    op.drop_index("ix_action_rag_status", table_name="action")
    op.create_index("ix_action_rag_status", "action", columns)
    op.execute("ANALYZE action")


def upgrade() -> None:
    _rebuild(AFTER)


def downgrade() -> None:
    _rebuild(BEFORE)
