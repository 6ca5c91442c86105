"""an index of each action's events by kind

Every page of actions shows how many times each one's due date was revised, counted from its
`due_date_revised` events: with (action_id, kind) indexed, the count reads the index alone
rather than every event of the action.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# An index only: the tables and columns are those of 0009 (app.migrate.same_tables).
changes_schema = False


def upgrade() -> None:
    op.create_index("ix_action_event_action_id_kind", "action_event", ["action_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_action_event_action_id_kind", table_name="action_event")
