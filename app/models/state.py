from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, func, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.action import FAR_FUTURE
from app.models.base import Base

# The end of a state that still holds: the current one. A moment rather than NULL, so that
# "the state at moment c" is two range conditions an index can serve.
STILL_VALID = datetime(9999, 12, 31, tzinfo=UTC)
# What the trend reads of each state it places (app.services.trend), after the range's columns.
_PLACED = (
    "valid_to",
    "valid_from",
    "status",
    "due_date",
    "finding_withdrawn_at",
    "closed_at",
    "created_at",
)
# The states that have an owner (the owner's indexes are partial).
_OWNED = "owner_id IS NOT NULL"
# The due-date sort's key, undated last (app.services.action_pages.sort_key).
_DUE_KEY = func.coalesce(text("due_date"), literal_column(f"'{FAR_FUTURE.isoformat()}'"))


class ActionState(Base):
    """What an action's changing fields were over an interval of time [valid_from, valid_to):
    its history as rows that answer "as it stood on a day" without replaying events.

    A row begins with each change of a field kept here and is written in the same transaction as
    the change's history event (app.services.states); the row it replaces gets its end then, and
    is never changed again. The columns carry the action's own names, so that the action
    queries read them in place of the action's (app.services.as_of)."""

    __tablename__ = "action_state"
    __table_args__ = (
        # The current state of an action (closed by the next change), and one action's states.
        Index("ix_action_state_action_id_valid_to", "action_id", "valid_to"),
        # Every state that held at a moment (valid_to >= moment > valid_from), with every
        # column a past day's counts, filters and groups read: those answers read this index
        # alone (migration 0016).
        Index(
            "ix_action_state_held",
            "valid_to",
            "valid_from",
            "status",
            "due_date",
            "finding_withdrawn_at",
            "owner_id",
            "priority",
            "rag",
            "report_id",
            "action_id",
            "closed_at",
            "original_due_date",
            "created_at",
            "last_progress_at",
            "finding_id",
        ),
        # The states by due date, with what decides whether each made its action newly
        # overdue: the changes read those of a window in order, a page at a time (migration
        # 0020); a past day's page by days overdue walks them, the report tested here (0033).
        Index(
            "ix_action_state_due_date",
            "due_date",
            "action_id",
            "status",
            "finding_withdrawn_at",
            "valid_from",
            "valid_to",
            "report_id",
        ),
        # An owner's states in action order and in due-date order: a past day's page of one
        # owner reads those few states rather than every state that held (migration 0024).
        # Partial: SQLite would take them for the unassigned (`owner_id IS NULL`, a fifth of
        # all states), each looked up in the table.
        Index(
            "ix_action_state_owner_id",
            "owner_id",
            "action_id",
            sqlite_where=text(_OWNED),
            postgresql_where=text(_OWNED),
        ),
        Index(
            "ix_action_state_owner_due",
            "owner_id",
            "due_date",
            "action_id",
            sqlite_where=text(_OWNED),
            postgresql_where=text(_OWNED),
        ),
        # The states of a report and of an owner, with every column the trend reads: the
        # trend with a filter on the report (a report, force, programme, pillar, year) or the
        # owner reads its own states alone, as does a past day's page of one report
        # (migration 0027).
        Index("ix_action_state_report", "report_id", *_PLACED, "owner_id"),
        # The states in the order of the due-date sort (its key, undated last) and of the
        # priority sort: a past day's page by either walks them from its cursor, keeping those
        # that held, to the page's end (migration 0032). Narrow: each state kept is read from
        # the table; but the report is here, so that report filters (a force) are tested in
        # the index and the states of other reports are not read (migration 0033).
        Index("ix_action_state_due_sort", _DUE_KEY, "action_id", "report_id"),
        Index("ix_action_state_priority_rank", "priority_rank", "action_id", "report_id"),
        # An owner's states in those orders (partial, as the owner's indexes above).
        Index(
            "ix_action_state_owner_due_sort",
            "owner_id",
            _DUE_KEY,
            "action_id",
            sqlite_where=text(_OWNED),
            postgresql_where=text(_OWNED),
        ),
        Index(
            "ix_action_state_owner_priority",
            "owner_id",
            "priority_rank",
            "action_id",
            sqlite_where=text(_OWNED),
            postgresql_where=text(_OWNED),
        ),
        # PostgreSQL only: SQLite's planner skip-scans it for a past day's stats by owner.
        Index("ix_action_state_owner", "owner_id", *_PLACED, "report_id").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime]
    # Never change; here so that filters and counts read this table alone.
    report_id: Mapped[int]
    finding_id: Mapped[int]
    created_at: Mapped[datetime]
    # The fields that change. No foreign key to the owner: an owner who once held an action can
    # still be deleted once they hold none now.
    status: Mapped[str] = mapped_column(String(30))
    priority: Mapped[str] = mapped_column(String(20))
    priority_rank: Mapped[int]
    owner_id: Mapped[int | None]
    due_date: Mapped[date | None]
    original_due_date: Mapped[date | None]
    rag: Mapped[str | None] = mapped_column(String(10))
    percent_complete: Mapped[int | None] = mapped_column(SmallInteger)
    last_progress_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When the action's finding was withdrawn from its report by a re-import, while it was.
    finding_withdrawn_at: Mapped[datetime | None]
