"""The trend without filters as today's figures corrected by the states that changed since the
range began (app.services.trend), rather than every state held in the range placed one by one.

Today's actions are counted first as if each had held throughout the range (`spanning_now`):
how many are open, from the tallies; how many are overdue per first period end they are
overdue at and per ageing bucket at the last, from the tallies (per active status, the dated
ones held to their due date) and one range of ix_action_status_due_date (the active actions
due from the earlier of the first period end and the oldest ageing bound to the last day;
those due before it are overdue at every end and in the oldest bucket).

Then (`add_changed`) the current states begun in the range or later are taken off as such and
placed as they are, and the states that ended in the range or later are placed as they are:
two ranges of ix_action_state_held, the states that changed since the range began, where the
states held throughout (today's actions unchanged since) are most. The ageing at the last end
changes only by the states begun after it or ended after it: a range of each, read apart, so
that the placing reads no ageing flags.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)

from app.db import Reader
from app.enums import ActionStatus
from app.models.state import STILL_VALID
from app.services import tallies
from app.services.action_filters import A
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN
from app.services.states import STATE

S = STATE.c
_CLOSED = frozenset(
    status.value
    for status in (ActionStatus.COMPLETED, ActionStatus.SUPERSEDED, ActionStatus.WITHDRAWN)
)
_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_OPEN = tuple(status.value for status in ActionStatus if status.value not in _CLOSED)
_STATUSES = tuple(status.value for status in ActionStatus)
_OLDEST_BUCKET = 3


def state_flags() -> dict[str, ColumnElement[bool]]:
    """What the trend asks of a state, defined once for every way it is counted (every state
    placed, the delta, the kept days): open; active (so overdue once past due); completed by
    the change that began it; begun when its action was made."""
    return {
        "open": S.status.not_in(_CLOSED),
        "active": and_(S.status.in_(_ACTIVE), S.finding_withdrawn_at.is_(None)),
        "completed": and_(S.status == ActionStatus.COMPLETED, S.closed_at == S.valid_from),
        "opened": S.valid_from == S.created_at,
    }


class Figures:
    """The trend's figures as states are placed: per period end (1..n) how many were open and
    overdue, per period (0: before the range) how many completed and opened, the ageing."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.open_at = [0] * (n + 2)
        self.overdue_at = [0] * (n + 2)
        self.completed_in = [0] * (n + 2)
        self.opened_in = [0] * (n + 2)
        self.age = [0, 0, 0, 0]

    def place(
        self, k_began: int, k_ended: int, k_late: int, counts: list[int], sign: int = 1
    ) -> None:
        """States begun in period k_began, held at the ends of periods before k_ended, overdue
        from the end of period k_late on; `counts`: open, active, completed, opened, and the
        four ageing flags when given."""
        n_open, n_active, n_completed, n_opened = (sign * v for v in counts[:4])
        # Held at the ends of periods max(k_began, 1) .. k_ended - 1.
        for k in range(max(k_began, 1), k_ended):
            self.open_at[k] += n_open
            if k >= k_late:
                self.overdue_at[k] += n_active
        self.completed_in[k_began] += n_completed
        self.opened_in[k_began] += n_opened
        ages = counts[4:]
        if ages and k_ended == self.n + 1 and k_late <= self.n:  # held, overdue, at the end
            self.age = [total + sign * more for total, more in zip(self.age, ages, strict=True)]

    def add_spanning(self, n_open: int, late: dict[tuple[int, int], int]) -> None:
        """States held throughout: `n_open` open, and per (k_late, age bucket) the overdue."""
        for k in range(1, self.n + 1):
            self.open_at[k] += n_open
        for (k_late, bucket), count in late.items():
            for k in range(k_late, self.n + 1):
                self.overdue_at[k] += count
            self.age[bucket] += count


def position(value: ColumnElement[Any], bounds: Sequence[Any], name: str) -> ColumnElement[int]:
    """How many of the (sorted) bounds are at or before `value`: 0 before the first (the
    number of bounds when NULL). A binary search of nested CASEs: four comparisons a row for
    a dozen bounds, where testing them in turn takes up to a dozen (hundreds of thousands of
    states are placed)."""
    params = [bindparam(f"{name}_{i}", bound, type_=value.type) for i, bound in enumerate(bounds)]

    def search(low: int, high: int) -> ColumnElement[int]:
        # Known: the answer is in low..high.
        if low == high:
            return literal_column(str(low), Integer())
        middle = (low + high) // 2
        return case((value < params[middle], search(low, middle)), else_=search(middle + 1, high))

    return search(0, len(bounds))


def _bucket(due: ColumnElement[date], days_late: list[date]) -> ColumnElement[int]:
    return case(
        (due >= days_late[0], 0),
        (due >= days_late[1], 1),
        (due >= days_late[2], 2),
        else_=_OLDEST_BUCKET,
    )


# The positions and the current flag of a state grouped by as one integer: one sort key.
_BASE = 128  # above the most periods (trend.MAX_PERIODS) + 1


def _int(value: int) -> ColumnElement[int]:
    return literal_column(str(value), Integer())


def _key(
    began: ColumnElement[int], ended: ColumnElement[int], late: ColumnElement[int], current: int
) -> ColumnElement[int]:
    return (((began * _BASE + ended) * _BASE + late) * 2 + _int(current)).label("key")


def _unkey(key: int) -> tuple[int, int, int, int]:
    key, current = divmod(key, 2)
    key, late = divmod(key, _BASE)
    began, ended = divmod(key, _BASE)
    return began, ended, late, current


def spanning_now(
    *,
    db: Reader,
    ends: list[date],
    days_late: list[date],
    where: Sequence[ColumnElement[bool]] = (),
    params: Mapping[str, Any] | None = None,
    statuses: Collection[str] | None = None,
    tallied: tallies.Keys | None = None,
) -> tuple[int, dict[tuple[int, int], int]]:
    """How many of today's actions are open; and of the active ones held to a due date before
    the last of `ends`, how many per (first period end overdue at, 1-based; ageing bucket by
    `days_late`, the bounds of 30, 90 and 180 days). Of those of `statuses` only, if given
    (from the tallies too); with other filters (`where`, on the action table, run with
    `params`), those they select; when those select whole keys of one dimension of the
    tallies (`tallied`: a programme's reports, RAGs, the owner's absence or presence), of
    `statuses` if given, the counts from the tallies of those keys."""
    if tallied is not None:
        return _spanning_tallied(
            db=db,
            ends=ends,
            days_late=days_late,
            where=where,
            params=params,
            statuses=statuses,
            tallied=tallied,
        )
    if where:
        return _spanning_selected(db=db, ends=ends, days_late=days_late, where=where, params=params)
    wanted = frozenset(_STATUSES if statuses is None else statuses)
    per_status = tallies.read(db, "status")
    n_open = sum(
        group.counts[status]
        for status, group in per_status.items()
        if status is not None and status not in _CLOSED and status in wanted
    )
    dated = sum(
        group.dated[status]
        for status, group in per_status.items()
        if status in _ACTIVE and status in wanted
    )
    last = ends[-1]
    since = min(ends[0], days_late[2])
    late_from = _late_now(ends)
    bucket = _bucket(A.due_date, days_late)
    held = _HELD_NOW if statuses is None else (*_HELD_NOW, A.status.in_(sorted(wanted)))
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


# Today's actions that are overdue once past their due date.
_HELD_NOW = (A.status.in_(_ACTIVE), A.finding_id.not_in(WITHDRAWN))


def _late_now(ends: list[date]) -> ColumnElement[int]:
    """k: today's action is overdue at the ends of periods k and later (n + 1: at none)."""
    return case(
        *((A.due_date < end, k) for k, end in enumerate(ends, start=1)), else_=len(ends) + 1
    )


def _spanning_selected(
    *,
    db: Reader,
    ends: list[date],
    days_late: list[date],
    where: Sequence[ColumnElement[bool]],
    params: Mapping[str, Any] | None,
) -> tuple[int, dict[tuple[int, int], int]]:
    """`spanning_now` for the actions the filters select: counted, the tallies being kept per
    key of one dimension, not per pair (a RAG with the owner's absence). As without filters,
    those due from the earlier of the first end and the oldest bucket's bound are placed one
    by one, those due before it (overdue at every end, in the oldest bucket) counted; each a
    range of ix_action_status_due_date, which holds every column the kept groups' filters
    read."""
    n_open = db.scalar(select(func.count()).where(A.status.in_(_OPEN), *where), params)
    since = min(ends[0], days_late[2])
    late_from, bucket = _late_now(ends), _bucket(A.due_date, days_late)
    recent = (
        select(late_from, bucket, func.count())
        .where(*_HELD_NOW, *where, A.due_date >= since, A.due_date < ends[-1])
        .group_by(late_from, bucket)
    )
    late = {(int(k), int(age)): int(count) for k, age, count in db.execute(recent, params)}
    # Counted with the withdrawn findings' actions, which are then taken off: testing each
    # action against them is what costs most.
    dated = (A.status.in_(_ACTIVE), *where, A.due_date < since)
    earlier = int(db.scalar(select(func.count()).where(*dated), params) or 0)
    earlier -= int(
        db.scalar(select(func.count()).where(*dated, A.finding_id.in_(WITHDRAWN)), params) or 0
    )
    if earlier:
        late[1, _OLDEST_BUCKET] = late.get((1, _OLDEST_BUCKET), 0) + earlier
    return int(n_open or 0), late


def _spanning_tallied(
    *,
    db: Reader,
    ends: list[date],
    days_late: list[date],
    where: Sequence[ColumnElement[bool]],
    params: Mapping[str, Any] | None,
    statuses: Collection[str] | None,
    tallied: tallies.Keys,
) -> tuple[int, dict[tuple[int, int], int]]:
    """`spanning_now` for the actions of some keys of one dimension (a programme's reports,
    RAGs, no owner or an owner), of `statuses` if given: how many are open and dated from the
    tallies of those keys summed, rather than counted (hundreds of thousands of actions for
    two RAGs); the active ones due from the earlier of the first end and the oldest bucket's
    bound placed one by one (`where`: the filters on the action table), and those due before
    it the dated less the rest."""
    wanted = frozenset(_STATUSES if statuses is None else statuses)
    group = tallies.summed(db, tallied.dim, tallied.keys, params, keyless=tallied.keyless)
    n_open = sum(group.counts[status] for status in _OPEN if status in wanted)
    dated = sum(group.dated[status] for status in _ACTIVE if status in wanted)
    since = min(ends[0], days_late[2])
    late_from, bucket = _late_now(ends), _bucket(A.due_date, days_late)
    recent = (
        select(late_from, bucket, func.count())
        .where(*_HELD_NOW, *where, A.due_date >= since)
        .group_by(late_from, bucket)
    )
    late: dict[tuple[int, int], int] = {}
    not_yet = 0
    for k, age, count in db.execute(recent, params):
        if int(k) > len(ends):  # due on the last end or later: overdue at none
            not_yet += int(count)
        else:
            late[int(k), int(age)] = int(count)
    earlier = dated - sum(late.values()) - not_yet
    if earlier:
        late[1, _OLDEST_BUCKET] = late.get((1, _OLDEST_BUCKET), 0) + earlier
    return n_open, late


def add_changed(
    *,
    db: Reader,
    figures: Figures,
    bounds: list[datetime],
    ends: list[date],
    days_late: list[date],
    late_from: ColumnElement[int],
    flags: Mapping[str, ColumnElement[bool]],
    selected: tuple[Sequence[ColumnElement[bool]], Sequence[ColumnElement[bool]]] = ((), ()),
    params: Mapping[str, Any] | None = None,
    statuses: Collection[str] | None = None,
    tallied: tallies.Keys | None = None,
) -> None:
    """The trend's figures into `figures`: today's actions as if held throughout, corrected by
    the states that changed since `bounds[0]` (see the module). `late_from` and `flags` are
    the trend's, over the states table; `selected`, the filters (none: every action) on the
    action table and on the states table, run with `params`; `statuses`, the statuses
    selected when they are the only filter (the actions' then read from the tallies), or with
    `tallied`, the keys of one dimension of the tallies that the only other filter selects
    (the actions' then from the tallies of those keys)."""
    n = len(ends)
    on_actions, where = selected
    figures.add_spanning(
        *spanning_now(
            db=db,
            ends=ends,
            days_late=days_late,
            where=on_actions,
            params=params,
            statuses=statuses,
            tallied=tallied,
        )
    )
    still = bindparam("still_valid", STILL_VALID, type_=S.valid_to.type)
    sums = [case((flag, 1), else_=0).label(name) for name, flag in flags.items()]
    # Read a period at a time, each a range of ix_action_state_held: the current states by the
    # period they began in (they end after the range), the ended ones by the period they ended
    # in; so the one position computed per state is the other (the ended ones' beginning, among
    # the bounds up to their end), and the due date's.
    arms = []
    for k in range(1, n + 2):
        since = S.valid_from >= bounds[k - 1]
        began = [since, S.valid_from < bounds[k]] if k <= n else [since]
        key = _key(_int(k), _int(n + 1), late_from, 1)
        arms.append(select(key, *sums).where(S.valid_to == still, *began, *where))
    for k in range(1, n + 2):
        ended = [S.valid_to >= bounds[k - 1]]
        if k <= n:
            ended.append(S.valid_to < bounds[k])
        else:  # ended after the last end (a moment to come): begun within the range
            ended += [S.valid_to < still, S.valid_from < bounds[-1]]
        began_at = position(S.valid_from, bounds[:k], "began")
        arms.append(select(_key(began_at, _int(k), late_from, 0), *sums).where(*ended, *where))
    placed = union_all(*arms).subquery("placed")
    statement = select(placed.c.key, *(func.sum(placed.c[name]) for name in flags)).group_by(
        placed.c.key
    )
    for key, *counts in db.execute(statement, params):
        k_began, k_ended, k_late, current = _unkey(int(key))
        values = [int(v) for v in counts]
        if k_began <= n:  # else begun after the range: held at none of its ends
            figures.place(k_began, k_ended, k_late, values)
        if current:
            figures.place(0, n + 1, k_late, values, sign=-1)
    # The ageing: the current states begun after the last end did not hold then; the ended
    # states that ended after it did.
    active = and_(S.status.in_(_ACTIVE), S.finding_withdrawn_at.is_(None), S.due_date < ends[-1])
    bucket = _bucket(S.due_date, days_late)
    moved = union_all(
        select(bucket.label("bucket"), literal(-1).label("sign")).where(
            S.valid_to == still, S.valid_from >= bounds[-1], active, *where
        ),
        select(bucket, literal(1)).where(
            S.valid_to >= bounds[-1], S.valid_to < still, S.valid_from < bounds[-1], active, *where
        ),
    ).subquery("moved")
    for age, sign, count in db.execute(
        select(moved.c.bucket, moved.c.sign, func.count()).group_by(moved.c.bucket, moved.c.sign),
        params,
    ):
        figures.age[int(age)] += int(sign) * int(count)
