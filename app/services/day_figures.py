"""The trend's figures of each day that has ended, counted once from the actions' states and
kept (`day_figure`), so that the trend without filters reads a row per day rather than the
states (app.services.trend_kept); and per group of states (`day_group_figure`: status, RAG,
assigned or not, programme), for the trend with those filters (app.services.day_groups).

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
ix_action_state_held, each with its report's programme), each state placed by its group, the
day it began, the last day whose end it held at and its due date, the combinations then
spread over the days here; a day's figures are the sums of its groups'. The groups are written
with the day's row, in the same transaction, and deleted with it (a foreign key, ON DELETE
CASCADE): a day's groups are kept exactly when its row is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import Reader
from app.models import DayFigure, DayGroupFigure, Report
from app.services.states import STATE, day_end
from app.services.trend_delta import position, state_flags
from app.settings import get_settings

DAY_FIGURE = cast(Table, DayFigure.__table__)
DAY_GROUP_FIGURE = cast(Table, DayGroupFigure.__table__)
D = DAY_FIGURE.c
S = STATE.c
REPORT = cast(Table, Report.__table__)
R = REPORT.c
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
        return {"day_date": day, "time_zone": time_zone, "actions": self.actions, **self.trend()}

    def trend(self) -> dict[str, int]:
        """The figures the trend reads, by their columns (those of a group too)."""
        return {
            "open": self.open,
            **dict(zip(OVERDUE_COLUMNS, self.overdue, strict=True)),
            "completed": self.completed,
            "opened": self.opened,
        }


NOTHING = Figures(actions=0, open=0, overdue=(0, 0, 0, 0), completed=0, opened=0)


class Group(NamedTuple):
    """A group of states whose figures are kept apart (`day_group_figure`): the filters of the
    trend they answer compare these (app.services.day_groups)."""

    status: str
    rag: str  # '' for none
    assigned: bool
    programme: str  # lower-cased, as the filter compares it


def _group_columns(programme: ColumnElement[str]) -> tuple[ColumnElement[Any], ...]:
    """A state's group, as columns of the states and `programme`, its report's."""
    return (
        S.status.label("status"),
        func.coalesce(S.rag, "").label("rag"),
        S.owner_id.is_not(None).label("assigned"),
        programme.label("programme"),
    )


def _group(status: str, rag: str, assigned: Any, programme: str) -> Group:
    return Group(status, rag, bool(assigned), programme)


def time_zone() -> str:
    return get_settings().timezone


def local_day(moment: datetime) -> date:
    return moment.astimezone(get_settings().tz).date()


def latest_to_keep(now: datetime) -> date:
    """The last day that ended GRACE before `now`."""
    return local_day(now - GRACE) - timedelta(days=1)


class Day(NamedTuple):
    """One day's figures counted: the day's, and its groups' (app.services.day_groups)."""

    figures: Figures
    groups: dict[Group, Figures]


def count(*, db: Reader, first: date, last: date) -> list[Day]:
    """The figures of each day from `first` to `last`, and of each group on it, from the
    states: one pass."""
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
    # Each report's programme, read once (from ix_report_programme_lower on SQLite) rather
    # than each state's report looked up in the report table; `+ 0`: SQLite is not to read
    # each report's states (ix_action_state_report, which lacks the RAG) but the range of
    # ix_action_state_held.
    programmes = (
        select(R.id, func.lower(R.programme).label("programme"))
        .cte("programmes")
        .prefix_with("MATERIALIZED")
    )
    group = _group_columns(programmes.c.programme)
    placed = (
        select(
            *keys,
            *group,
            *(case((flag, 1), else_=0).label(f"f{i}") for i, flag in enumerate(flags)),
        )
        .select_from(STATE.join(programmes, programmes.c.id == S.report_id + 0))
        .where(S.valid_to >= bounds[0], S.valid_from < bounds[-1])
        .subquery("placed")
    )
    c = placed.c
    grouped = (c.began, c.last_held, c.due, *(c[column.name] for column in group))
    statement = select(
        *grouped, func.count(), func.sum(c.f0), func.sum(c.f1), func.sum(c.f2)
    ).group_by(*grouped)
    # Per group and day k (1..n), as differences: held[k] - held[k - 1], and so on.
    spreads: dict[Group, _Spread] = {}
    for k_began, k_last, due_date, *of, states, n_open, n_completed, n_opened in db.execute(
        statement
    ):
        spread = spreads.setdefault(_group(*of), _Spread(n))
        start, end = max(int(k_began), 1), int(k_last)
        spread.add(spread.held, start, end, states)
        spread.add(spread.open, start, end, int(n_open))
        if 1 <= k_began <= n:
            spread.completed[k_began] += int(n_completed)
            spread.opened[k_began] += int(n_opened)
        if due_date is not None:
            index = (due_date - first).days + 1  # the due day's k (may be before the batch)
            for bucket, (low, high) in enumerate(BUCKETS):
                since = max(start, index + low)
                until = end if high is None else min(end, index + high)
                spread.add(spread.overdue[bucket], since, until, states)
    counted = [Day(NOTHING, {}) for _ in days]
    for group_of, spread in spreads.items():
        for k, figures in enumerate(spread.days(), start=1):
            if figures != NOTHING:
                counted[k - 1].groups[group_of] = figures
    return [Day(_total(day.groups.values()), day.groups) for day in counted]


class _Spread:
    """One group's figures over the days of a batch as they are placed: per day k (1..n), as
    differences from the day before (held[k] - held[k - 1]) but for completed and opened."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.held, self.open, self.completed, self.opened = ([0] * (n + 2) for _ in range(4))
        self.overdue = [[0] * (n + 2) for _ in BUCKETS]

    @staticmethod
    def add(counts: list[int], start: int, end: int, value: int) -> None:
        if start <= end:
            counts[start] += value
            counts[end + 1] -= value

    def days(self) -> list[Figures]:
        found = []
        running = [0] * (2 + len(BUCKETS))
        for k in range(1, self.n + 1):
            steps = (self.held[k], self.open[k], *(counts[k] for counts in self.overdue))
            running = [total + step for total, step in zip(running, steps, strict=True)]
            found.append(
                Figures(
                    actions=running[0],
                    open=running[1],
                    overdue=(running[2], running[3], running[4], running[5]),
                    completed=self.completed[k],
                    opened=self.opened[k],
                )
            )
        return found


def _total(groups: Iterable[Figures]) -> Figures:
    actions, open_, completed, opened = 0, 0, 0, 0
    overdue = [0] * len(BUCKETS)
    for figures in groups:
        actions += figures.actions
        open_ += figures.open
        overdue = [total + more for total, more in zip(overdue, figures.overdue, strict=True)]
        completed += figures.completed
        opened += figures.opened
    return Figures(
        actions=actions,
        open=open_,
        overdue=(overdue[0], overdue[1], overdue[2], overdue[3]),
        completed=completed,
        opened=opened,
    )


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


def keep(*, session: Session, first: date, days: Sequence[Day]) -> None:
    """Keep the figures of the days from `first` on, and their groups' (a day another worker
    kept meanwhile is left as it is: its groups were kept with it)."""
    zone = time_zone()
    dates = [first + timedelta(days=k) for k in range(len(days))]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(DAY_FIGURE).on_conflict_do_nothing(index_elements=["day_date"])
    rows = [day.figures.row(on, zone) for on, day in zip(dates, days, strict=True)]
    session.execute(insert, rows)
    groups = [
        {"day_date": on, **group._asdict(), **figures.trend()}
        for on, day in zip(dates, days, strict=True)
        for group, figures in day.groups.items()
        if any(figures.trend().values())
    ]
    if groups:
        keys = [column.name for column in DAY_GROUP_FIGURE.primary_key.columns]
        grouped = dialect.insert(DAY_GROUP_FIGURE).on_conflict_do_nothing(index_elements=keys)
        session.execute(grouped, groups)


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
