"""A pack's items on a past day: what the states (app.services.states) do not keep, rebuilt from
the history for the pack's actions.

The list reads an action as it stood from its state; the progress note and the count of due
date revisions are not kept there, and the list gives today's. A committee pack made for an
earlier day shows them as they were at its end: the note of the last progress update before
then (else, when the note changed only later, the note before that change; else the note the
action has), and the revisions made before then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select

from app.db import Reader
from app.enums import EventKind
from app.models import ActionEvent

_EVENT = cast(Table, ActionEvent.__table__)
E = _EVENT.c
_BATCH = 500

_REVISIONS = (
    select(E.action_id, func.count())
    .where(
        E.action_id.in_(bindparam("action_ids", expanding=True)),
        E.kind == EventKind.DUE_DATE_REVISED.value,
        E.created_at < bindparam("cutoff", type_=E.created_at.type),
    )
    .group_by(E.action_id)
)
# Every progress update of the actions, oldest first (by the index on (action_id, kind)).
_PROGRESS = (
    select(E.action_id, E.created_at, E.changes)
    .where(
        E.action_id.in_(bindparam("action_ids", expanding=True)),
        E.kind == EventKind.PROGRESS_UPDATED.value,
    )
    .order_by(E.action_id, E.created_at, E.id)
)


def as_they_were(*, db: Reader, actions: Sequence[dict[str, Any]], cutoff: datetime) -> None:
    """Set each action's `progress_note` and `due_date_revisions` (dicts as the list reads
    them) to what they were just before `cutoff` (the end of the pack's day)."""
    for start in range(0, len(actions), _BATCH):
        batch = {action["id"]: action for action in actions[start : start + _BATCH]}
        params = {"action_ids": list(batch), "cutoff": cutoff}
        revisions = {action_id: int(n) for action_id, n in db.execute(_REVISIONS, params)}
        notes: dict[int, Any] = {}
        later: set[int] = set()  # the first change of the note after the cutoff was seen
        for action_id, at, changes in db.execute(_PROGRESS, params):
            note = (changes or {}).get("progress_note")
            if note is None or action_id in later:
                continue
            if at < cutoff:
                notes[action_id] = note[1]
            else:
                later.add(action_id)
                notes.setdefault(action_id, note[0])
        for action_id, action in batch.items():
            action["due_date_revisions"] = revisions.get(action_id, 0)
            if action_id in notes:
                action["progress_note"] = notes[action_id]
