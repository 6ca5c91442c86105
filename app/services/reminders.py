"""The daily reminders: `action.overdue` for actions past their due date, `action.due_soon`
for those due within AFI_DUE_SOON_DAYS (today included), each at most once per action and
day: the outbox's unique (type, action_id, tick_date) keeps a second tick of the same day (or
two workers ticking at once) from writing any again."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import clock
from app.enums import EventType
from app.models import Action, Finding, OutboxEvent
from app.principal import system
from app.services import outbox
from app.services.overdue_rule import ACTIVE_STATUSES, held_to_due_date
from app.settings import get_settings

_ACTION = cast(Table, Action.__table__)
_OUTBOX = cast(Table, OutboxEvent.__table__)
TICK_BATCH = 2000
TICK_ACTOR = system("daily tick")


def tick_batch(*, session: Session, today: date, after_id: int = 0) -> int | None:
    """Write the reminders of `today` for up to TICK_BATCH actions with ids after `after_id`
    (already written ones are skipped); returns the last id handled, None when there are no
    more. Actions whose finding was withdrawn are held to no due date, and get none."""
    horizon = today + timedelta(days=get_settings().due_soon_days)
    rows = session.execute(
        select(
            _ACTION.c.id,
            _ACTION.c.reference,
            _ACTION.c.report_id,
            _ACTION.c.owner_id,
            _ACTION.c.status,
            _ACTION.c.due_date,
            Finding.withdrawn_at,
        )
        .join(Finding, Finding.id == _ACTION.c.finding_id)
        .where(
            _ACTION.c.id > after_id,
            _ACTION.c.status.in_(ACTIVE_STATUSES),
            _ACTION.c.due_date <= horizon,
        )
        .order_by(_ACTION.c.id)
        .limit(TICK_BATCH)
    ).all()
    if not rows:
        return None
    now = clock.utcnow()
    events = []
    for found in rows:
        withdrawn = found.withdrawn_at is not None
        if not held_to_due_date(status=found.status, finding_withdrawn=withdrawn):
            continue
        overdue = found.due_date < today
        type_ = EventType.ACTION_OVERDUE if overdue else EventType.ACTION_DUE_SOON
        days = (today - found.due_date).days if overdue else (found.due_date - today).days
        data = outbox.action_data(
            action_id=found.id,
            reference=found.reference,
            report_id=found.report_id,
            owner_id=found.owner_id,
            actor=TICK_ACTOR,
        )
        data.update(
            due_date=found.due_date.isoformat(),
            on=today.isoformat(),
            **({"days_overdue": days} if overdue else {"days_left": days}),
        )
        events.append(
            outbox.row(
                type_=type_,
                at=now,
                data=data,
                action_id=found.id,
                report_id=found.report_id,
                owner_id=found.owner_id,
                tick_date=today,
            )
        )
    if events:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(_OUTBOX).on_conflict_do_nothing(
            index_elements=["type", "action_id", "tick_date"]
        )
        session.execute(statement, events)
    return int(rows[-1].id)


def written_on(*, session: Session, today: date) -> dict[str, int]:
    """How many reminders of each type there are for `today`."""
    rows = session.execute(
        select(_OUTBOX.c.type, func.count())
        .where(_OUTBOX.c.tick_date == today)
        .group_by(_OUTBOX.c.type)
    )
    counts = {EventType.ACTION_OVERDUE.value: 0, EventType.ACTION_DUE_SOON.value: 0}
    counts.update({type_: count for type_, count in rows})
    return counts
