"""The action history: every change writes an event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Action
from app.models.event import ActionEvent
from app.principal import Principal

_EVENT = cast(Table, ActionEvent.__table__)


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


def record_many(
    *,
    session: Session,
    events: Iterable[tuple[int, Mapping[str, Any] | None]],
    kind: str,
    actor: Principal,
    comment: str | None = None,
) -> int:
    """One event of `kind` per (action id, changes), written as one batch of INSERTs: for
    imports, where thousands of actions change at once and an ORM object per event would cost
    more than the rows. Returns how many were written."""
    now = clock.utcnow()
    rows = [
        {
            "action_id": action_id,
            "kind": kind,
            "actor": actor.label,
            "token_id": actor.token_id,
            "created_at": now,
            "changes": dict(changes or {}),
            "comment": comment,
        }
        for action_id, changes in events
    ]
    if rows:
        session.execute(insert(_EVENT), rows)
    return len(rows)


def list_events(*, session: Session, action_id: int) -> Sequence[ActionEvent]:
    return session.scalars(
        select(ActionEvent).where(ActionEvent.action_id == action_id).order_by(ActionEvent.id)
    ).all()
