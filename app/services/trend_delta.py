"""Today's actions counted as the trend counts a state held throughout its range (app.services.
trend): how many are open, and how many are overdue per first period end they are overdue at
and per ageing bucket at the last. From the tallies (per status, how many, and how many active
ones are dated and held to their due date) and one range of ix_action_status_due_date: the
active actions due from the earlier of the first period end and the oldest ageing bound to the
last day; those due before it are overdue at every end and in the oldest bucket, the tallies'
dated ones less those due later.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from app.db import Reader
from app.enums import ActionStatus
from app.services import tallies
from app.services.action_filters import A
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN

_CLOSED = frozenset(
    status.value
    for status in (ActionStatus.COMPLETED, ActionStatus.SUPERSEDED, ActionStatus.WITHDRAWN)
)
_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_OLDEST_BUCKET = 3


def spanning_now(
    *, db: Reader, ends: list[date], days_late: list[date]
) -> tuple[int, dict[tuple[int, int], int]]:
    """How many of today's actions are open; and of the active ones held to a due date before
    the last of `ends`, how many per (first period end overdue at, 1-based; ageing bucket by
    `days_late`, the bounds of 30, 90 and 180 days)."""
    n = len(ends)
    per_status = tallies.read(db, "status")
    n_open = sum(
        group.counts[status]
        for status, group in per_status.items()
        if status is not None and status not in _CLOSED
    )
    dated = sum(group.dated[status] for status, group in per_status.items() if status in _ACTIVE)
    last = ends[-1]
    since = min(ends[0], days_late[2])
    late_from = case(*((A.due_date < end, k) for k, end in enumerate(ends, start=1)), else_=n + 1)
    bucket = case(
        (A.due_date >= days_late[0], 0),
        (A.due_date >= days_late[1], 1),
        (A.due_date >= days_late[2], 2),
        else_=_OLDEST_BUCKET,
    )
    held = (A.status.in_(_ACTIVE), A.finding_id.not_in(WITHDRAWN))
    recent = (
        select(late_from, bucket, func.count())
        .where(*held, A.due_date >= since, A.due_date < last)
        .group_by(late_from, bucket)
    )
    late: dict[tuple[int, int], int] = {}
    for k_late, age, count in db.execute(recent):
        late[int(k_late), int(age)] = int(count)
    not_yet = select(func.count()).where(*held, A.due_date >= last)
    earlier = dated - sum(late.values()) - int(db.scalar(not_yet) or 0)
    if earlier:
        late[1, _OLDEST_BUCKET] = late.get((1, _OLDEST_BUCKET), 0) + earlier
    return n_open, late
