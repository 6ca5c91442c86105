"""action.original_due_date, rag, percent_complete, last_progress_at: room for revised due
dates and progress assessment

`original_due_date` is the first due date an action was given; later changes are revisions
(recorded in the history with their reason). Actions made before this revision get the due date
they have now. `rag` (green, amber, red) and `percent_complete` (0 to 100) are the owner's
assessment, `last_progress_at` when it was last updated. Indexes cover grouping by RAG (as by
the other group columns) and finding actions without a recent update.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("action", sa.Column("original_due_date", sa.Date(), nullable=True))
    op.add_column("action", sa.Column("rag", sa.String(10), nullable=True))
    op.add_column("action", sa.Column("percent_complete", sa.SmallInteger(), nullable=True))
    op.add_column(
        "action", sa.Column("last_progress_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE action SET original_due_date = due_date WHERE due_date IS NOT NULL")
    if op.get_bind().dialect.name != "sqlite":
        # SQLite adds no constraint to a table that has rows; the API checks both values.
        op.create_check_constraint(
            "ck_action_rag", "action", "rag IS NULL OR rag IN ('green', 'amber', 'red')"
        )
        op.create_check_constraint(
            "ck_action_percent_complete",
            "action",
            "percent_complete IS NULL OR percent_complete BETWEEN 0 AND 100",
        )
    op.create_index("ix_action_rag_status", "action", ["rag", "status", "due_date", "finding_id"])
    op.create_index("ix_action_last_progress_at", "action", ["last_progress_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_action_last_progress_at", table_name="action")
    op.drop_index("ix_action_rag_status", table_name="action")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_action_percent_complete", "action", type_="check")
        op.drop_constraint("ck_action_rag", "action", type_="check")
    for column in ("last_progress_at", "percent_complete", "rag", "original_due_date"):
        op.drop_column("action", column)
