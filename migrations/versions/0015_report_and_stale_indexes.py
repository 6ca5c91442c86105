"""indexes for today's stats by report and by stale over the active actions alone

`ix_action_report_overdue`: the active actions with a due date, by report, due date and id
(then status and finding, to test the rest of the overdue rule from the index alone, and the
reference the answer shows). Each report's oldest overdue action is the first entry of its
range: one short seek per report rather than a walk of every overdue action
(app.services.report_oldest).

`ix_action_active_progress`: the active actions by their last progress (the moment the stale
rule reads: `coalesce(last_progress_at, created_at)`), then status, due date, finding and id,
and the two columns of the expression (without them SQLite does not read the index alone). The
ones not stale on a day are a short range at its end (those updated in the last
AFI_STALE_AFTER_DAYS); the stale ones are the tallies' active actions less those.

Both are partial: the statuses in the condition are those of `overdue_rule.ACTIVE_STATUSES`,
written out, as the queries that read them write them (literal values, so that SQLite and
PostgreSQL can tell the index holds every row the query wants).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0014 (app.migrate.same_tables).
changes_schema = False

_ACTIVE = "status IN ('open', 'in_progress', 'blocked')"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_action_report_overdue ON action "
        "(report_id, due_date, id, status, finding_id, reference) "
        f"WHERE {_ACTIVE} AND due_date IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_action_active_progress ON action "
        "(coalesce(last_progress_at, created_at), status, due_date, finding_id, id, "
        "last_progress_at, created_at) "
        f"WHERE {_ACTIVE}"
    )
    # The planner's statistics for the new indexes (SQLite has none until ANALYZE).
    op.execute("ANALYZE action")


def downgrade() -> None:
    op.drop_index("ix_action_active_progress", table_name="action")
    op.drop_index("ix_action_report_overdue", table_name="action")
