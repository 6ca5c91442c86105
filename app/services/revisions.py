"""Revised due dates: an action's first due date is its `original_due_date`; every later change
of the due date is a revision, which needs a reason (and, by setting, a role) and is recorded in
the history as a `due_date_revised` event."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from app.db import Reader
from app.enums import EventKind
from app.errors import Forbidden, InvalidInput
from app.models import Action, ActionEvent
from app.principal import Principal
from app.services import history, lookups
from app.settings import get_settings

_EVENT = cast(Table, ActionEvent.__table__)
_ACTION = cast(Table, Action.__table__)

# How many times each action's due date was revised: a correlated count for the page's rows,
# from the index on (action_id, kind) alone.
REVISION_COUNT = (
    select(func.count())
    .where(_EVENT.c.action_id == _ACTION.c.id, _EVENT.c.kind == EventKind.DUE_DATE_REVISED.value)
    .scalar_subquery()
    .label("due_date_revisions")
)


def check(*, action: Action, sent: dict[str, Any], reason: str | None, actor: Principal) -> bool:
    """Whether the fields `sent` revise the action's due date; if they do, refuse it without
    a reason (422) or to a role below the setting's (403)."""
    if "due_date" not in sent or action.original_due_date is None:
        return False
    if sent["due_date"] == action.due_date:
        return False
    if reason is None:
        raise InvalidInput(
            f"Action {action.reference} already has a due date; changing it is a revision, "
            "which needs due_date_reason saying why.",
            field="due_date_reason",
        )
    needed = get_settings().due_date_revision_role
    if actor.role is None or not actor.role.includes(needed):
        raise Forbidden(f"Revising the due date of {action.reference} needs the {needed} role.")
    return True


def record(
    *, session: Session, action: Action, change: list[Any], reason: str | None, actor: Principal
) -> None:
    history.record(
        session=session,
        action=action,
        kind=EventKind.DUE_DATE_REVISED,
        actor=actor,
        changes={"due_date": change},
        comment=reason,
    )


def listed(*, db: Reader, action_id: int) -> dict[str, Any]:
    """The action's due-date revisions, oldest first, shaped like `DueDateRevisions`."""
    lookups.require_action(db=db, action_id=action_id)
    rows = db.execute(
        select(
            _EVENT.c.changes,
            _EVENT.c.comment,
            _EVENT.c.actor,
            _EVENT.c.user_name,
            _EVENT.c.created_at,
        )
        .where(_EVENT.c.action_id == action_id, _EVENT.c.kind == EventKind.DUE_DATE_REVISED.value)
        .order_by(_EVENT.c.id)
    )
    items = []
    for changes, comment, actor, user, at in rows:
        before, after = changes["due_date"]
        items.append(
            {"from": before, "to": after, "reason": comment, "actor": actor, "user": user, "at": at}
        )
    return {"items": items}
