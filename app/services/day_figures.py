"""The trend's figures of each day that has ended, counted once from the actions' states and
kept (`day_figure`), so that the trend without filters reads a row per day rather than the
states (app.services.trend_kept).

Why they can be kept: every write is dated now (app.services.history, states.begin at the
clock's now), so the states that held at the end of a day that has ended, and those begun
during it, never change afterwards. Two cases are guarded:
- a write dated on or before a kept day (the clock moved back, as tests do) deletes the
  figures of that day and every later one in the write's own transaction
  (states.forget_days_from, called by states.begin);
- a write whose moment was taken just before midnight but committed after the day was
  counted: a day is counted only once it ended GRACE ago, longer than any write transaction
  lasts (imports above a size are refused; the write lock is held about a second at most).
Rows counted under another AFI_TIMEZONE (its days end at other moments) are not read, and the
worker deletes them.

The background worker (app.worker.keep_day_figures) counts the newest days missing a batch at
a time (`missing_batch`, `count`, `keep`), from yesterday backwards, down to a day on whose end
no action existed yet (`actions` 0: every earlier day's figures are all 0, and are not kept).
A batch of consecutive days is counted in one pass over the states that held in it (a range of
ix_action_state_held), each state placed by the day it began, the last day whose end it held
at and its due date, the few thousand combinations then spread over the days here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Date, Table, and_, case, delete, exists, func, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import Reader
from app.models import DayFigure
from app.services.states import STATE, day_end
from app.services.trend_delta import position, state_flags
from app.settings import get_settings

DAY_FIGURE = cast(Table, DayFigure.__table__)
D = DAY_FIGURE.c
S = STATE.c
# A day is counted once it ended this long ago: longer than any write transaction runs.
GRACE = timedelta(hours=1)
# Days counted in one pass over the states.
BATCH_DAYS = 62
# The ageing buckets by days past due, as the trend reports them: (first day, last day).
BUCKETS = ((1, 30), (31, 90), (91, 180), (181, None))
OVERDUE_COLUMNS = ("overdue_0_30", "overdue_31_90", "overdue_91_180", "overdue_over_180")
_OLDEST = BUCKETS[-1][0]


@dataclass
class Figures:
    """One day's figures, as kept."""

    actions: int
    open: int
    overdue: tuple[int, int, int, int]  # by BUCKETS
    completed: int
    opened: int

    def row(self, day: date, time_zone: str) -> dict[str, Any]:
        return {
            "day_date": day,
            "time_zone": time_zone,
            "actions": self.actions,
            "open": self.open,
            **dict(zip(OVERDUE_COLUMNS, self.overdue, strict=True)),
            "completed": self.completed,
            "opened": self.opened,
        }


NOTHING = Figures(actions=0, open=0, overdue=(0, 0, 0, 0), completed=0, opened=0)


def time_zone() -> str:
    return get_settings().timezone


def local_day(moment: datetime) -> date:
    return moment.astimezone(get_settings().tz).date()


def latest_to_keep(now: datetime) -> date:
    """The last day that ended GRACE before `now`."""
    return local_day(now - GRACE) - timedelta(days=1)


def count(*, db: Reader, first: date, last: date) -> list[Figures]:
    """The figures of each day from `first` to `last`, from the states: one pass."""
    n = (last - first).days + 1
    days = [first + timedelta(days=k) for k in range(n)]
    # bounds[k]: the end of day k (1-based); bounds[0] the start of the first.
    bounds = [day_end(first - timedelta(days=1)), *(day_end(day) for day in days)]
    began = position(S.valid_from, bounds, "began")  # k: begun on day k (0: before)
    last_held = position(S.valid_to, bounds[1:], "held")  # held at the ends of days .. k
    rules = state_flags()
    active = rules["active"]
    # Due dates earlier than this are in the oldest bucket on every day of the batch.
    floor = first - timedelta(days=_OLDEST)
    due = type_coerce(
        case(
            (and_(active, S.due_date < last), case((S.due_date < floor, floor), else_=S.due_date)),
            else_=None,
        ),
        Date,
    )
    keys = (began.label("began"), last_held.label("last_held"), due.label("due"))
    flags = (rules["open"], rules["completed"], rules["opened"])
    placed = (
        select(*keys, *(case((flag, 1), else_=0).label(f"f{i}") for i, flag in enumerate(flags)))
        .where(S.valid_to >= bounds[0], S.valid_from < bounds[-1])
        .subquery("placed")
    )
    c = placed.c
    statement = select(
        c.began, c.last_held, c.due, func.count(), func.sum(c.f0), func.sum(c.f1), func.sum(c.f2)
    ).group_by(c.began, c.last_held, c.due)
    # Per day k (1..n), as differences: held[k] - held[k - 1], and so on.
    held, open_, completed, opened = ([0] * (n + 2) for _ in range(4))
    overdue = [[0] * (n + 2) for _ in BUCKETS]

    def spread(counts: list[int], start: int, end: int, value: int) -> None:
        if start <= end:
            counts[start] += value
            counts[end + 1] -= value

    for k_began, k_last, due_date, states, n_open, n_completed, n_opened in db.execute(statement):
        start, end = max(int(k_began), 1), int(k_last)
        spread(held, start, end, states)
        spread(open_, start, end, int(n_open))
        if 1 <= k_began <= n:
            completed[k_began] += int(n_completed)
            opened[k_began] += int(n_opened)
        if due_date is not None:
            index = (due_date - first).days + 1  # the due day's k (may be before the batch)
            for bucket, (low, high) in enumerate(BUCKETS):
                since = max(start, index + low)
                until = end if high is None else min(end, index + high)
                spread(overdue[bucket], since, until, states)
    figures = []
    running = [0] * (2 + len(BUCKETS))
    for k in range(1, n + 1):
        steps = (held[k], open_[k], *(counts[k] for counts in overdue))
        running = [total + step for total, step in zip(running, steps, strict=True)]
        figures.append(
            Figures(
                actions=running[0],
                open=running[1],
                overdue=(running[2], running[3], running[4], running[5]),
                completed=completed[k],
                opened=opened[k],
            )
        )
    return figures


def missing_batch(*, db: Reader, latest: date) -> tuple[date, date] | None:
    """The newest run of days not kept (at most BATCH_DAYS) at or before `latest` and after
    the last kept day on whose end no action existed; None when there is none."""
    kept = {
        day: actions
        for day, actions in db.execute(
            select(D.day_date, D.actions).where(D.time_zone == time_zone())
        )
    }
    floor = max((day for day, actions in kept.items() if actions == 0), default=None)
    last = latest
    while last in kept:
        last -= timedelta(days=1)
    if floor is not None and last <= floor:
        return None
    first = last
    while (last - first).days + 1 < BATCH_DAYS:
        before = first - timedelta(days=1)
        if before in kept or (floor is not None and before <= floor):
            break
        first = before
    return first, last


def other_zones(db: Reader) -> bool:
    """Whether rows counted under another AFI_TIMEZONE are kept (`forget_other_zones`)."""
    return bool(db.scalar(select(exists().where(D.time_zone != time_zone()))))


def forget_other_zones(*, session: Session) -> None:
    session.execute(delete(DAY_FIGURE).where(D.time_zone != time_zone()))


def keep(*, session: Session, first: date, figures: Sequence[Figures]) -> None:
    """Keep the figures of the days from `first` on (a day another worker kept meanwhile is
    left as it is)."""
    zone = time_zone()
    rows = [day.row(first + timedelta(days=k), zone) for k, day in enumerate(figures)]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(DAY_FIGURE).on_conflict_do_nothing(index_elements=["day_date"])
    session.execute(insert, rows)


def read_days(*, db: Reader, first: date, last: date) -> dict[date, Figures]:
    """The kept figures of the days from `first` to `last` (those not kept left out), the days
    before any action existed being all 0 whether kept or not."""
    zone = time_zone()
    found = {
        row.day_date: Figures(
            actions=row.actions,
            open=row.open,
            overdue=(row.overdue_0_30, row.overdue_31_90, row.overdue_91_180, row.overdue_over_180),
            completed=row.completed,
            opened=row.opened,
        )
        for row in db.execute(
            select(DAY_FIGURE).where(D.time_zone == zone, D.day_date >= first, D.day_date <= last)
        )
    }
    if len(found) < (last - first).days + 1:
        none_through = db.scalar(
            select(func.max(D.day_date)).where(D.time_zone == zone, D.actions == 0)
        )
        day = first
        while none_through is not None and day <= min(last, none_through):
            found.setdefault(day, NOTHING)
            day += timedelta(days=1)
    return found


def kept_days(db: Reader) -> Sequence[date]:
    """The days kept (for tests and the command line)."""
    return db.scalars(
        select(D.day_date).where(D.time_zone == time_zone()).order_by(D.day_date)
    ).all()
