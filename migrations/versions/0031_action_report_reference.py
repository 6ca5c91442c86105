"""action: each report's actions in reference order, for the reference sort with report filters

A report's actions' references start with its prefix, so a force's (a year's, a programme's)
actions sit together in reference order. The page of report filters by reference walked
uq_action_reference from the first reference of all: PostgreSQL's planner, expecting matches
spread evenly, read 442,000 entries to find Kent's first 50 at 1M (1.1 s). Its first page now
starts at the first reference of the reports matched, one seek per report in this index
(app.services.action_pages).

Revision ID: 0031
Revises: 0029
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# An index only: the tables and columns are those of 0029 (app.migrate.same_tables).
changes_schema = False


def upgrade() -> None:
    op.create_index("ix_action_report_id_reference", "action", ["report_id", "reference"])


def downgrade() -> None:
    op.drop_index("ix_action_report_id_reference", table_name="action")
