"""What the states (app.services.states) do not keep, on a past day: an action's progress note
and its count of due date revisions, rebuilt from the history. The list, one action, the CSV
export and the committee pack all read them here for a day before today.

A state gives the action's status, owner, dates, RAG and the rest as they stood; the progress
note and the revisions are not kept there, and the action's row gives today's. At the end of a
past day they were: the note of the last progress update before then (else, when the note
changed only later, the note before that change; else the note the action has), and the
revisions made before then.

Titles and descriptions are today's: a re-import changes an action's text without recording it
(its `reimported` event holds the finding's old text, not the action's), so they cannot be
rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select

from app.db import Reader
from app.enums import EventKind
from app.models import ActionEvent
from app.services.as_of import is_past
from app.services.states import day_end

_EVENT = cast(Table, ActionEvent.__table__)
E = _EVENT.c
_BATCH = 500

# Both read the index on (action_id, kind).
_REVISIONS = (
    select(E.action_id, func.count())
    .where(
        E.action_id.in_(bindparam("action_ids", expanding=True)),
        E.kind == EventKind.DUE_DATE_REVISED.value,
        E.created_at < bindparam("cutoff", type_=E.created_at.type),
    )
    .group_by(E.action_id)
)
# Every progress update of the actions, oldest first.
_PROGRESS = (
    select(E.action_id, E.created_at, E.changes)
    .where(
        E.action_id.in_(bindparam("action_ids", expanding=True)),
        E.kind == EventKind.PROGRESS_UPDATED.value,
    )
    .order_by(E.action_id, E.created_at, E.id)
)


def _batches(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def notes_then(
    *, db: Reader, notes: Mapping[int, str | None], cutoff: datetime
) -> dict[int, str | None]:
    """Each action's progress note just before `cutoff`, from `notes` (action id -> the note it
    has now) and its progress updates: one statement per 500 actions."""
    then = dict(notes)
    for batch in _batches(notes):
        later: set[int] = set()  # the first change of the note after the cutoff was seen
        known: set[int] = set()
        for action_id, at, changes in db.execute(_PROGRESS, {"action_ids": batch}):
            note = (changes or {}).get("progress_note")
            if note is None or action_id in later:
                continue
            if at < cutoff:
                then[action_id] = note[1]
                known.add(action_id)
            else:
                later.add(action_id)
                if action_id not in known:
                    then[action_id] = note[0]
    return then


def revisions_then(*, db: Reader, action_ids: Iterable[int], cutoff: datetime) -> dict[int, int]:
    """How many times each action's due date had been revised before `cutoff` (0 is left
    out): one statement per 500 actions."""
    counts: dict[int, int] = {}
    for batch in _batches(action_ids):
        params = {"action_ids": batch, "cutoff": cutoff}
        counts.update((action_id, int(n)) for action_id, n in db.execute(_REVISIONS, params))
    return counts


def as_they_were(*, db: Reader, actions: Sequence[dict[str, Any]], as_of: date) -> None:
    """On a past `as_of`, set each action's `progress_note` and `due_date_revisions` (dicts
    as the list reads them) to what they were at the end of that day; on today or a later
    day, nothing (and no statement)."""
    if not actions or not is_past(as_of):
        return
    cutoff = day_end(as_of)
    by_id = {action["id"]: action for action in actions}
    notes = notes_then(
        db=db, notes={i: a["progress_note"] for i, a in by_id.items()}, cutoff=cutoff
    )
    revisions = revisions_then(db=db, action_ids=by_id, cutoff=cutoff)
    for action_id, action in by_id.items():
        action["progress_note"] = notes[action_id]
        action["due_date_revisions"] = revisions.get(action_id, 0)
