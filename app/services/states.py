"""The action's states over time (`action_state`), written with every change that moves one.

Every change writes a history event (app.services.history); an event that changes one of the
fields kept here (status, owner, due dates, priority, RAG, percentage, last progress, closing,
the finding's withdrawal) also ends the action's current state at the event's moment and begins
a new one, copied from the action's row as the change left it, in the same transaction. Two
changes at the same moment (one request writing several events) leave one state: the last.

Migration 0012 built the states of the actions that existed before it from their history (see
its docstring for the rule); from then on this module writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, literal, select, update
from sqlalchemy.orm import Session

from app.enums import EventKind
from app.models import Action, ActionState, DayFigure, Finding
from app.models.state import STILL_VALID
from app.settings import get_settings

STATE = cast(Table, ActionState.__table__)
_ACTION = cast(Table, Action.__table__)
_FINDING = cast(Table, Finding.__table__)
_DAY_FIGURE = cast(Table, DayFigure.__table__)

# Keys of an event's `changes` that say a kept field changed.
CHANGED_KEYS = frozenset(
    {
        "status",
        "owner_id",
        "due_date",
        "priority",
        "rag",
        "percent_complete",
        "last_progress_at",
        "withdrawn_at",  # a re-import put a withdrawn finding back
    }
)
# Kinds that move the state whatever their changes say.
_ALWAYS = frozenset({EventKind.CREATED, EventKind.FINDING_WITHDRAWN})
# The action's columns a state copies, by the state's column names.
COPIED = (
    "report_id",
    "finding_id",
    "created_at",
    "status",
    "priority",
    "priority_rank",
    "owner_id",
    "due_date",
    "original_due_date",
    "rag",
    "percent_complete",
    "last_progress_at",
    "closed_at",
)
_IDS_PER_STATEMENT = 500


def moves_state(kind: EventKind, changes: Mapping[str, Any] | None) -> bool:
    """Whether an event of this kind with these changes begins a new state."""
    return kind in _ALWAYS or not CHANGED_KEYS.isdisjoint(changes or ())


def begin(*, session: Session, action_ids: Iterable[int], at: datetime) -> None:
    """End the current state of each action at `at` and begin one copied from its row now.
    A state begun at `at` or later (by an earlier event of the same change) is replaced."""
    session.flush()  # the rows as the change left them
    ids = sorted(set(action_ids))
    if ids:
        # Dated now, after every kept day; dated earlier (a clock moved back), the days it
        # changes are counted again.
        forget_days_from(session=session, at=at)
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        _begin(session, ids[start : start + _IDS_PER_STATEMENT], at)


def forget_days_from(*, session: Session, at: datetime) -> None:
    """The trend's kept figures of the day of `at` and later ones no longer stand
    (app.services.day_figures): none are kept with writes dated now (only ended days are)."""
    day = at.astimezone(get_settings().tz).date()
    session.execute(delete(_DAY_FIGURE).where(_DAY_FIGURE.c.day_date >= day))


def _begin(session: Session, ids: Sequence[int], at: datetime) -> None:
    current = (STATE.c.action_id.in_(ids), STATE.c.valid_to == STILL_VALID)
    session.execute(delete(STATE).where(*current, STATE.c.valid_from >= at))
    session.execute(update(STATE).where(*current).values(valid_to=at))
    copied = select(
        _ACTION.c.id,
        *(_ACTION.c[name] for name in COPIED),
        _FINDING.c.withdrawn_at,
        literal(at, STATE.c.valid_from.type),
        literal(STILL_VALID, STATE.c.valid_to.type),
    ).join_from(_ACTION, _FINDING, _FINDING.c.id == _ACTION.c.finding_id)
    session.execute(
        insert(STATE).from_select(
            ["action_id", *COPIED, "finding_withdrawn_at", "valid_from", "valid_to"],
            copied.where(_ACTION.c.id.in_(ids)),
        )
    )


def day_end(day: date) -> datetime:
    """The first moment after `day` (midnight in AFI_TIMEZONE): the state "on" a day is the
    one that held at its end, after every change made that day."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=get_settings().tz)
