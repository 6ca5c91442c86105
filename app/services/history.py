"""The action history: every change writes an event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import Action
from app.models.event import ActionEvent
from app.principal import Principal


def record(
    *,
    session: Session,
    action: Action,
    kind: str,
    actor: Principal,
    changes: Mapping[str, Any] | None = None,
    comment: str | None = None,
) -> ActionEvent:
    event = ActionEvent(
        action_id=action.id,
        kind=kind,
        actor=actor.label,
        token_id=actor.token_id,
        created_at=clock.utcnow(),
        changes=dict(changes or {}),
        comment=comment,
    )
    session.add(event)
    return event


def list_events(*, session: Session, action_id: int) -> Sequence[ActionEvent]:
    return session.scalars(
        select(ActionEvent).where(ActionEvent.action_id == action_id).order_by(ActionEvent.id)
    ).all()
