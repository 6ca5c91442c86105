"""action_state: the states of a report and of an owner, for the trend with filters

The trend with filters places each state that held in its range and passes them
(app.services.trend): it read them from a range of ix_action_state_held, which at 1M actions
holds 1.3 million states for 12 months and 1.8 million for 12 quarters, testing the filter on
each (0.4 to 1 s of CPU on SQLite for one force, an owner or a report). These two indexes
lead with the report and the owner, then hold the range's columns and every column the trend
reads, so that a filter on the report (a report, a force, a programme, a pillar, a year: the
reports they match, each a range) or on an owner reads its own states alone.

The owner's index on PostgreSQL only: SQLite's planner skip-scanned it (every owner in turn,
looking each state up in the table) for a past day's stats by owner, which read
ix_action_state_held alone. At 1M on SQLite the trend for one owner stays a range of
ix_action_state_held (bench/README.md).

Revision ID: 0027
Revises: 0025
Create Date: 2026-11-30 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0023 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
PLACED = [
    "valid_to",
    "valid_from",
    "status",
    "due_date",
    "finding_withdrawn_at",
    "closed_at",
    "created_at",
]
REPORT = ["report_id", *PLACED, "owner_id"]
OWNER = ["owner_id", *PLACED, "report_id"]


def upgrade() -> None:
    op.create_index("ix_action_state_report", "action_state", REPORT)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_action_state_owner", "action_state", OWNER)
    op.execute("ANALYZE action_state")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_action_state_owner", table_name="action_state")
    op.drop_index("ix_action_state_report", table_name="action_state")
