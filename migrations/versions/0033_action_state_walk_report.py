"""action_state: the indexes a past day's page walks in order also hold the report

A past day's page sorted by due date, priority or days overdue walks the states in that order
(app.services.page_plans: Plan.STATES_IN_ORDER, Plan.STATES_BY_DUE) and keeps those of the
reports the report filters match. With report filters that match too many reports to collect
(a force: Kent is 2.3% of them), the walk tests about 40 states of other reports for each it
keeps, and each was read from the table for its report: page 20 of a past day's Kent by due
date took 28 ms on SQLite at 1M actions, by days overdue 30 to 110. With the report at the end
of each index, SQLite tests it in the index and reads the table only for the states of the
reports asked about.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0032 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
DUE_KEY = sa.text("coalesce(due_date, '9999-12-31')")
BEFORE: dict[str, list[str | sa.TextClause]] = {
    "ix_action_state_due_date": [
        "due_date",
        "action_id",
        "status",
        "finding_withdrawn_at",
        "valid_from",
        "valid_to",
    ],
    "ix_action_state_due_sort": [DUE_KEY, "action_id"],
    "ix_action_state_priority_rank": ["priority_rank", "action_id"],
}


def _rebuild(with_report: bool) -> None:
    for name, columns in BEFORE.items():
        op.drop_index(name, table_name="action_state")
        op.create_index(name, "action_state", [*columns, "report_id"] if with_report else columns)
    op.execute("ANALYZE action_state")


def upgrade() -> None:
    _rebuild(with_report=True)


def downgrade() -> None:
    _rebuild(with_report=False)
