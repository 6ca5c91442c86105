"""day_figure: the trend's figures of each day that has ended, kept by the worker

The trend without filters over 12 months read the 350,000 states that changed in the year at
1M actions (378 ms on SQLite, 840 ms over 12 quarters). The past does not change, so each
ended day's figures (actions, open and overdue by days past due at its end; completed and
opened during it) are counted once by the background worker and read back by the trend: a
few hundred rows (app.services.day_figures, app.services.trend_kept). The table starts empty;
the worker fills it from yesterday backwards, a batch of days per pass (`afi keep-figures`
fills it at once).

Revision ID: 0023
Revises: 0021
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "day_figure",
        sa.Column("day_date", sa.Date(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("overdue_0_30", sa.Integer(), nullable=False),
        sa.Column("overdue_31_90", sa.Integer(), nullable=False),
        sa.Column("overdue_91_180", sa.Integer(), nullable=False),
        sa.Column("overdue_over_180", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day_date", name=op.f("pk_day_figure")),
    )


def downgrade() -> None:
    op.drop_table("day_figure")
