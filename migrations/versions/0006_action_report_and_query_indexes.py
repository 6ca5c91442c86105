"""action.report_id, and indexes behind every list filter, sort and count

The finding's report is kept on the action, so that filters and counts by report, force, year,
programme or pillar need not go through the finding; report attributes are indexed as the
filters compare them (lower case); withdrawn findings get a small partial index; the action
indexes cover the counts per status, owner, report and priority and the overdue range.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHDRAWN = sa.text("withdrawn_at IS NOT NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite adds a NOT NULL column only with a default; rebuilding the table instead would
        # cascade-delete its history and evidence. Every row is given its report just below.
        op.execute("ALTER TABLE action ADD COLUMN report_id INTEGER NOT NULL DEFAULT 0")
    else:
        op.add_column("action", sa.Column("report_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE action SET report_id = "
        "(SELECT finding.report_id FROM finding WHERE finding.id = action.finding_id)"
    )
    if sqlite:
        # The default is only there for the rows above: a new action must name its report.
        op.execute(
            "CREATE TRIGGER action_report_id_required BEFORE INSERT ON action "
            "WHEN NEW.report_id = 0 "
            "BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: action.report_id'); END"
        )
    else:
        op.alter_column("action", "report_id", nullable=False)

    op.drop_index("ix_action_owner_id", table_name="action")
    op.drop_index("ix_action_status_due_date", table_name="action")
    # Counts per group and status, and the overdue range per group, from the index alone.
    covering = ["status", "due_date", "finding_id"]
    op.create_index("ix_action_status_due_date", "action", covering)
    op.create_index("ix_action_owner_id_status", "action", ["owner_id", *covering])
    op.create_index("ix_action_report_id_status", "action", ["report_id", *covering])
    op.create_index("ix_action_priority_status", "action", ["priority", *covering])

    op.create_index("ix_report_force_lower", "report", [sa.text("lower(force)")])
    op.create_index("ix_report_programme_lower", "report", [sa.text("lower(programme)")])
    op.create_index("ix_report_pillar_lower", "report", [sa.text("lower(pillar)")])
    op.create_index("ix_report_year_label", "report", ["year_label"])
    op.create_index(
        "ix_finding_withdrawn",
        "finding",
        ["id"],
        sqlite_where=WITHDRAWN,
        postgresql_where=WITHDRAWN,
    )
    # The planners choose between these indexes by their statistics: gather them now rather
    # than leave the first queries on a large database to guess.
    op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_finding_withdrawn", table_name="finding")
    op.drop_index("ix_report_year_label", table_name="report")
    op.drop_index("ix_report_pillar_lower", table_name="report")
    op.drop_index("ix_report_programme_lower", table_name="report")
    op.drop_index("ix_report_force_lower", table_name="report")
    op.drop_index("ix_action_priority_status", table_name="action")
    op.drop_index("ix_action_report_id_status", table_name="action")
    op.drop_index("ix_action_owner_id_status", table_name="action")
    op.drop_index("ix_action_status_due_date", table_name="action")
    op.create_index("ix_action_status_due_date", "action", ["status", "due_date"])
    op.create_index("ix_action_owner_id", "action", ["owner_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER action_report_id_required")
    op.drop_column("action", "report_id")
