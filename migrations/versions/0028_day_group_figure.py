"""day_group_figure: the kept day figures split by status, RAG, assigned or not and programme

The trend with a filter on the status, the RAG, the owner's absence or the programme placed
every state of its range that passed the filter: at 1M actions 0.5 to 3.7 s (`status=open`,
474,000 states in 12 months). The days that have ended do not change, so the worker keeps each
day's figures per group of those four (a few hundred rows a day) in the same pass and the same
transaction as the day's row, and the trend with only those filters reads the groups asked for
(app.services.day_groups, app.services.trend_kept).

A day's groups go with its `day_figure` row (a foreign key, ON DELETE CASCADE). The rows kept
so far have no groups: they are deleted here, and the worker counts every day again, a batch
per pass (`afi keep-figures` does it at once); until then the trend answers the slower way.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "day_group_figure",
        sa.Column("day_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("rag", sa.String(length=10), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        sa.Column("programme", sa.String(length=50), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("overdue_0_30", sa.Integer(), nullable=False),
        sa.Column("overdue_31_90", sa.Integer(), nullable=False),
        sa.Column("overdue_91_180", sa.Integer(), nullable=False),
        sa.Column("overdue_over_180", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day_date"],
            ["day_figure.day_date"],
            name=op.f("fk_day_group_figure_day_date_day_figure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "day_date", "status", "rag", "assigned", "programme", name=op.f("pk_day_group_figure")
        ),
        sqlite_with_rowid=False,
    )
    # Kept without groups: counted again with them.
    op.execute(sa.text("DELETE FROM day_figure"))


def downgrade() -> None:
    op.drop_table("day_group_figure")
