"""the stats' covering indexes also hold what the on-time and stale figures read

Stats count, per group and status in one pass over the group's index, the completed actions
closed by their original and by their revised due date (closed_at, original_due_date), and
group by whether an action is stale (last_progress_at, created_at): each index gets those
columns after its own, so that the pass reads the index alone, as it did before them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Indexes only: the tables and columns are those of 0010 (app.migrate.same_tables).
changes_schema = False

_ON_TIME = ["closed_at", "original_due_date"]
_STALE = ["last_progress_at", "created_at"]
_BEFORE = {
    "ix_action_status_due_date": ["status", "due_date", "finding_id"],
    "ix_action_owner_id_status": ["owner_id", "status", "due_date", "finding_id"],
    "ix_action_report_id_status": ["report_id", "status", "due_date", "finding_id"],
    "ix_action_priority_status": ["priority", "status", "due_date", "finding_id"],
    "ix_action_rag_status": ["rag", "status", "due_date", "finding_id"],
}


def _after(name: str) -> list[str]:
    extra = _ON_TIME + _STALE if name == "ix_action_status_due_date" else _ON_TIME
    return _BEFORE[name] + extra


def _rebuild(columns_of: dict[str, list[str]]) -> None:
    for name, columns in columns_of.items():
        op.drop_index(name, table_name="action")
        op.create_index(name, "action", columns)
    # The planner's statistics for the new indexes (SQLite has none until ANALYZE).
    op.execute("ANALYZE action")


def upgrade() -> None:
    _rebuild({name: _after(name) for name in _BEFORE})


def downgrade() -> None:
    _rebuild(_BEFORE)
