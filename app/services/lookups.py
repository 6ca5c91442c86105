"""Finding an action by id, for every service that acts on one (actions, workflow, evidence,
revisions): kept apart so that none of them imports another for it, and no import cycle forms."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Reader
from app.errors import NotFound
from app.models import Action


def get_action(*, session: Session, action_id: int, for_update: bool = False) -> Action:
    """The action, locked for the rest of the transaction with `for_update`; 404 if none."""
    query = select(Action).where(Action.id == action_id)
    if for_update:
        query = query.with_for_update()
    action = session.scalar(query)
    if action is None:
        raise NotFound(f"No action with id {action_id}.")
    return action


def require_action(*, db: Reader, action_id: int) -> None:
    """404 unless there is such an action (for reads of what hangs off it)."""
    if db.scalar(select(Action.id).where(Action.id == action_id)) is None:
        raise NotFound(f"No action with id {action_id}.")
