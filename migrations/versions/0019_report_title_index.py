"""report: an index on title, which the labels of stats by report read alone

Stats by report label each of tens of thousands of groups with its report's title. Read from
the table, that reads every report's row, source text included as far as it is stored beside
the row (on SQLite, the whole of the report table's pages: 130 ms at 40,000 reports); the index
holds the title and the row's id, so the labels are read from it alone (6 ms).

Revision ID: 0019
Revises: 0016
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# An index only: the tables and columns are those of 0016 (app.migrate.same_tables).
changes_schema = False


def upgrade() -> None:
    op.create_index("ix_report_title", "report", ["title"])


def downgrade() -> None:
    op.drop_index("ix_report_title", table_name="report")
