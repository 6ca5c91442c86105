from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from app.models.base import Base


class ActionEvent(Base):
    """One entry of an action's history. Written in the same transaction as the change; never
    updated or deleted."""

    __tablename__ = "action_event"
    __table_args__ = (
        Index("ix_action_event_action_id_id", "action_id", "id"),
        # The count of due-date revisions on every page of actions (app.services.revisions).
        Index("ix_action_event_action_id_kind", "action_id", "kind"),
        # The changes between two days (app.services.changes).
        Index("ix_action_event_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    # The token behind the change, so that sign-off can tell who asked for it.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    # The user (person) who acted, whichever of their tokens they used; None for the command
    # line. Sign-off is refused to the user who asked for it.
    user_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
