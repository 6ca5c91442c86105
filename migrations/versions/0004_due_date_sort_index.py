"""index for sorting actions by due date, undated last

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_action_due_date_sort",
        "action",
        [sa.text("coalesce(due_date, '9999-12-31')"), "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_action_due_date_sort", table_name="action")
