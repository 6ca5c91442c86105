"""action: an index by id holding every column the list filters read

A search (`q`) finds its matches in the full-text index, by id; every other filter given is
then tested on each match's action. At 1M actions a common word matches 90,000 of them, and
looking each one up in the action table reads a row of its long texts (a page of the table
apiece, in no order): SQLite counted `q=safeguarding&status=open` in 0.2 s of CPU that way, and
in 0.04 s from this index (id, then the filtered columns; about 60 bytes an entry). The pages of
a search read in the index's order (app.services.page_plans.Plan.SEARCH) and the relevance
sort with filters test their matches the same way.

SQLite only. PostgreSQL's cost for these shapes is the full-text table's heap, not the action
lookups (bench/README.md), and with this index its planner walked it in id order for an owner's
page, testing the owner on each entry (9.7 ms against 3.9 ms through the owner's index at 1M,
and a walk of the whole index for an owner with few actions).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# An index only: the tables and columns are those of 0020 (app.migrate.same_tables).
changes_schema = False

# Spelled out here rather than imported: later code must not change what this migration did.
COLUMNS = [
    "id",
    "status",
    "due_date",
    "finding_id",
    "report_id",
    "owner_id",
    "priority",
    "rag",
    "last_progress_at",
    "created_at",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_action_id_filters", "action", COLUMNS)
        op.execute("ANALYZE action")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_action_id_filters", table_name="action")
