from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    event,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.enums import ActionStatus, Priority
from app.models.base import Base

if TYPE_CHECKING:
    from app.models.report import Finding


class Owner(Base):
    __tablename__ = "owner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(200))
    # No daily e-mail digest for this owner (app.services.digests).
    digest_opt_out: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# Sorting by due date puts actions without one after every dated action (before, descending):
# the key is COALESCE(due_date, FAR_FUTURE), the same on SQLite and PostgreSQL, and indexed.
FAR_FUTURE = date(9999, 12, 31)


_ON_TIME = ("closed_at", "original_due_date")
# Every column a list filter reads of the action (app.services.action_filters), but the id.
_FILTERED = (
    "status",
    "due_date",
    "finding_id",
    "report_id",
    "owner_id",
    "priority",
    "rag",
    "last_progress_at",
    "created_at",
)
# The statuses an action is still to be done in (app.services.overdue_rule.ACTIVE_STATUSES).
_ACTIVE_WHERE = "status IN ('open', 'in_progress', 'blocked')"


class Action(Base):
    __tablename__ = "action"
    __table_args__ = (
        # Counts per group and status, and per group the overdue actions (a range: status in
        # the active ones, due date before the day; finding_id to leave out withdrawn findings),
        # read from the index alone and in group order (app.services.stats).
        # Then what the on-time figures read (closed_at, original_due_date) and, for the
        # status index, what "stale" reads (last_progress_at, created_at) and the group columns,
        # so that the active actions not yet due on a day are counted per group from it alone
        # (app.services.stats_tallied).
        Index(
            "ix_action_status_due_date",
            "status",
            "due_date",
            "finding_id",
            *_ON_TIME,
            "last_progress_at",
            "created_at",
            "owner_id",
            "priority",
            "rag",
            "report_id",
        ),
        Index(
            "ix_action_owner_id_status", "owner_id", "status", "due_date", "finding_id", *_ON_TIME
        ),
        Index(
            "ix_action_report_id_status", "report_id", "status", "due_date", "finding_id", *_ON_TIME
        ),
        Index(
            "ix_action_priority_status", "priority", "status", "due_date", "finding_id", *_ON_TIME
        ),
        Index(
            "ix_action_rag_status", "rag", "status", "due_date", "finding_id", *_ON_TIME, "owner_id"
        ),
        # Where a force's actions start (end) in reference order: one seek per report
        # (app.services.action_pages._reference_start).
        Index("ix_action_report_id_reference", "report_id", "reference"),
        Index("ix_action_last_progress_at", "last_progress_at", "id"),
        # SQLite: a search's matches tested against the other filters by id, from this narrow
        # index rather than from each action's row (app.services.page_plans.Plan.SEARCH,
        # counts). Not on PostgreSQL, whose planner walked it in id order for a rare owner.
        Index("ix_action_id_filters", "id", *_FILTERED).ddl_if(dialect="sqlite"),
        Index("ix_action_updated_at_id", "updated_at", "id"),
        Index("ix_action_priority_rank_id", "priority_rank", "id"),
        # Today's stats by report: each report's oldest overdue action, one seek per report
        # (app.services.report_oldest); by stale: the active actions not stale on a day, a
        # short range at the end (app.services.stats_tallied). Both over the active actions
        # alone, written as the statements that read them write them (overdue_rule).
        Index(
            "ix_action_report_overdue",
            "report_id",
            "due_date",
            "id",
            "status",
            "finding_id",
            "reference",
            sqlite_where=text(f"{_ACTIVE_WHERE} AND due_date IS NOT NULL"),
            postgresql_where=text(f"{_ACTIVE_WHERE} AND due_date IS NOT NULL"),
        ),
        Index(
            "ix_action_active_progress",
            func.coalesce(text("last_progress_at"), text("created_at")),
            "status",
            "due_date",
            "finding_id",
            "id",
            "last_progress_at",
            "created_at",
            sqlite_where=text(_ACTIVE_WHERE),
            postgresql_where=text(_ACTIVE_WHERE),
        ),
        # The due-date sort orders by this expression (app.services.action_pages.sort_key).
        Index(
            "ix_action_due_date_sort",
            func.coalesce(text("due_date"), literal_column(f"'{FAR_FUTURE.isoformat()}'")),
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("finding.id", ondelete="CASCADE"), index=True
    )
    # The finding's report, kept here so that filters and counts by report (and by force, year,
    # programme or pillar) need not go through the finding. Never changes: set from the finding
    # when the action is inserted (below). No foreign key of its own: the finding's already
    # ties the action to the report (and SQLite cannot add one to a table that has rows).
    report_id: Mapped[int]
    reference: Mapped[str] = mapped_column(String(130), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owner.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(30), default=ActionStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(20), default=Priority.MEDIUM)
    # Sorting by priority needs its order, not its name; kept in step by the service layer.
    priority_rank: Mapped[int] = mapped_column(default=Priority.MEDIUM.rank)
    due_date: Mapped[date | None] = mapped_column(index=True)
    # The first due date the action was given; a later change of due_date is a revision.
    original_due_date: Mapped[date | None]
    progress_note: Mapped[str | None] = mapped_column(Text)
    # The owner's assessment: green, amber or red (app.enums.Rag), and how far along (0-100).
    rag: Mapped[str | None] = mapped_column(String(10))
    percent_complete: Mapped[int | None] = mapped_column(SmallInteger)
    last_progress_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    superseded_by_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("action.id", ondelete="SET NULL")
    )
    superseded_by_finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("finding.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)

    finding: Mapped[Finding] = relationship(back_populates="actions", foreign_keys=[finding_id])
    owner: Mapped[Owner | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


_FINDINGS_REPORT = text("SELECT report_id FROM finding WHERE id = :finding_id")


@event.listens_for(Action, "before_insert")
def _report_from_finding(_mapper: Any, connection: Connection, action: Action) -> None:
    if action.report_id is not None:
        return
    # Made with its finding (as imports do), or only with the finding's id.
    finding = action.finding
    action.report_id = (
        finding.report_id
        if finding is not None
        else connection.execute(_FINDINGS_REPORT, {"finding_id": action.finding_id}).scalar_one()
    )
