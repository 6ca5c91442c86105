from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from app.models.base import Base


class OutboxEvent(Base):
    """A public event (`action.status_changed`, `report.imported`, ...): written in the same
    transaction as the change it reports (a transactional outbox), never updated afterwards
    except for its `position`.

    `position` is the order of the event feed and of webhook fan-out. It is given by the one
    sequencer (app.services.outbox.sequence) to events already committed, in increasing order,
    so a reader that has seen position N never later finds an event below N: ids alone would
    not do on PostgreSQL, where a transaction can commit its lower id after a higher one."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        # The daily reminders: at most one of a type per action and day.
        UniqueConstraint("type", "action_id", "tick_date"),
        Index("ix_outbox_event_type_position", "type", "position"),
        # The sequencer's work list: the few events not positioned yet.
        Index(
            "ix_outbox_event_unpositioned",
            "id",
            sqlite_where=text("position IS NULL"),
            postgresql_where=text("position IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int | None] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(40))
    # What webhook filters match on (no foreign keys: events outlive what they report).
    action_id: Mapped[int | None]
    report_id: Mapped[int | None]
    # The action's owner after the change (an owner change also matches its previous owner).
    owner_id: Mapped[int | None]
    # The day a daily reminder (action.overdue, action.due_soon) is for; None for the others.
    tick_date: Mapped[date | None]
    created_at: Mapped[datetime]
    # The envelope sent as is: {"type", "timestamp", "data"}.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
