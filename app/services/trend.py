"""The trend: how many actions were open and overdue at the end of each month or quarter, how
many were completed and opened during each, and the ageing of what was overdue at the end.

Read from the states (app.services.states) that held at some point of the range, each state
counting towards the period ends it spans, as the state at the end of that day (the same rule as
`as_of`). Three ways, the same answer:
- without filters, where every day of the range before today is kept (app.services.day_figures:
  the worker counts each day once it has ended), from a row per day (app.services.trend_kept),
  today (and the days ended since the worker's last count, and the period ends after today)
  by the delta of those days alone;
  with filters only of the status, RAG, assigned or not and programme, the same from the sums
  of the groups of each day they select (app.services.day_groups), the delta of the last days
  reading today's actions from the tallies where the filters select whole keys of one of
  their dimensions (the statuses; a programme, RAGs or assigned or not, and statuses),
  counting them otherwise, and the states changed that the filters select;
- without filters otherwise (a day not kept yet, a range whose first period starts after
  today), today's actions counted as if each had held throughout the range and corrected by
  the states that changed since it began (app.services.trend_delta);
- with filters, few states pass them, and each state that held in the range is placed: by
  where it begins and ends among the period ends (and its due date among their days), the few
  hundred combinations added up here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    func,
    select,
)

from app import clock
from app.db import Reader
from app.errors import InvalidInput
from app.schemas.filters import ActionFilters
from app.schemas.trend import TrendInterval, TrendOut
from app.services import day_figures, day_groups, tallies, trend_delta, trend_kept
from app.services.action_filters import R, filter_conditions, filter_values, report_conditions
from app.services.as_of import on_states
from app.services.page_plans import unindexed
from app.services.states import STATE, day_end
from app.services.trend_delta import Figures, position

S = STATE.c
# The most period ends one answer has: ten years of months.
MAX_PERIODS = 120
DEFAULT_PERIODS = 12
_MONTHS = {TrendInterval.MONTH: 1, TrendInterval.QUARTER: 3}
# Filters that ask about one day: the trend has its own days.
_ONE_DAY = ("as_of", "overdue", "stale")


def period_start(day: date, interval: TrendInterval) -> date:
    """The first day of the month or quarter `day` is in."""
    months = _MONTHS[interval]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def _next_start(start: date, interval: TrendInterval) -> date:
    month = start.month - 1 + _MONTHS[interval]
    return date(start.year + month // 12, month % 12 + 1, 1)


def period_ends(*, interval: TrendInterval, start: date, end: date) -> list[date]:
    """The last day of each period from the one holding `start` to the one holding `end`; the
    last is `end` itself (a period still running ends today, not in the future)."""
    ends = []
    first = period_start(start, interval)
    while first <= end:
        following = _next_start(first, interval)
        ends.append(min(following - timedelta(days=1), end))
        first = following
    return ends


def default_start(*, interval: TrendInterval, end: date) -> date:
    """The start of the range when none is given: the last DEFAULT_PERIODS periods to `end`."""
    first = period_start(end, interval)
    months = _MONTHS[interval] * (DEFAULT_PERIODS - 1)
    month = first.month - 1 - months
    return date(first.year + month // 12, month % 12 + 1, 1)


def _position(value: ColumnElement[Any], bounds: Sequence[Any], name: str) -> ColumnElement[int]:
    """How many of the (sorted) bounds are at or before `value`: 0 before the first. Tested
    from the first bound up: with filters most states placed began before the range (one
    comparison); the states that changed (trend_delta) take a binary search instead."""
    return case(
        *(
            (value < bindparam(f"{name}_{i}", bound, type_=value.type), i)
            for i, bound in enumerate(bounds)
        ),
        else_=len(bounds),
    )


def _position_from_top(
    value: ColumnElement[Any], bounds: Sequence[Any], name: str
) -> ColumnElement[int]:
    """The same as `_position`, tested from the last bound down: for values mostly after every
    bound (a state still held, ending in 9999), one comparison rather than one per bound."""
    return case(
        *(
            (value >= bindparam(f"{name}_{i}", bounds[i], type_=value.type), i + 1)
            for i in reversed(range(len(bounds)))
        ),
        else_=0,
    )


def _check(filters: ActionFilters, start: date, end: date) -> None:
    for name in _ONE_DAY:
        if getattr(filters, name) is not None:
            raise InvalidInput(
                f"{name} asks about one day; the trend counts at each period end.",
                field=name,
                location="query",
            )
    if start > end:
        raise InvalidInput("from is after to.", field="from", location="query")


def by_delta(shape: tuple[str, ...]) -> bool:
    """Whether the trend is today's figures corrected by the states that changed since the
    range began (without filters), rather than every state of the range placed one by one."""
    return not shape


def by_kept(shape: tuple[str, ...]) -> bool:
    """Whether the trend is read from the kept figures of ended days (app.services.trend_kept)
    where they are all kept, rather than by the delta (without filters) or every state placed:
    without filters, or with filters the kept groups answer (app.services.day_groups)."""
    return not shape or day_groups.serves(shape)


def _bounds(first: date, ends: list[date]) -> list[datetime]:
    """The moments that bound the periods: the start of the first, then each period's end."""
    return [day_end(first - timedelta(days=1)), *(day_end(day) for day in ends)]


def _late_from(ends: list[date], place: Callable[..., ColumnElement[int]]) -> ColumnElement[int]:
    """k: overdue at the ends of periods k and later, its due date being before their last day
    (n + 1: at none)."""
    return case((S.due_date.is_(None), len(ends) + 1), else_=place(S.due_date, ends, "due") + 1)


def _days_late(last: date) -> list[date]:
    return [last - timedelta(days=days) for days in (30, 90, 180)]


def by_changes(
    *,
    db: Reader,
    first: date,
    ends: list[date],
    shape: tuple[str, ...] = (),
    params: dict[str, Any] | None = None,
) -> Figures:
    """The figures as today's corrected by the states that changed since `first`
    (app.services.trend_delta): without filters, or of what the filters of `shape` select."""
    figures = Figures(len(ends))
    # SQLite: today's actions of one RAG, owner's absence or programme (and statuses) read
    # from that filter's index, which holds the status and due date; of a RAG and an owner's
    # absence or presence from the RAG's, which holds the owner too (migration 0029); of a
    # programme with either from ix_action_status_due_date, which holds every column the
    # filters read, not from one's index looking each action up for the other (the
    # programme's reports still from theirs, its actions being a fifth at most).
    several = len([name for name in shape if name != "statuses"]) > 1
    indexed = ("statuses", "programme") if "programme" in shape else ("statuses", "rags")
    today = [
        unindexed(condition) if several and name not in indexed else condition
        for name in shape
        for condition in filter_conditions((name,))
    ]
    # The statuses alone: today's actions from the tallies per status; a programme, RAGs or
    # the owner's absence or presence (and statuses): from the tallies of the keys it selects.
    others = tuple(name for name in shape if name != "statuses")
    tallied = _tallied(others, params)
    statuses = (
        params["statuses"]
        if params is not None and "statuses" in shape and (tallied is not None or not others)
        else None
    )
    trend_delta.add_changed(
        db=db,
        figures=figures,
        bounds=_bounds(first, ends),
        ends=ends,
        days_late=_days_late(ends[-1]),
        late_from=_late_from(ends, position),
        flags=trend_delta.state_flags(),
        selected=(
            [] if statuses is not None and tallied is None else today,
            _on_changed_states(shape),
        ),
        params=params,
        statuses=statuses,
        tallied=tallied,
    )
    return figures


def _tallied(others: tuple[str, ...], params: dict[str, Any] | None) -> tallies.Keys | None:
    """The keys of one dimension of the tallies that the filters other than the statuses
    select, when they are one filter that selects whole keys: a programme its reports, RAGs
    theirs, the owner's absence the actions without one, its presence every owner's. None for
    two together (no tally is kept per pair of keys) or none."""
    if len(others) != 1 or params is None:
        return None
    name = others[0]
    if name == "programme":
        return tallies.Keys("report", select(R.id).where(*report_conditions(others)))
    if name == "rags":
        return tallies.Keys("rag", list(params["rags"]))
    if name in ("unassigned", "assigned"):
        return tallies.Keys("owner", () if name == "unassigned" else None, name == "unassigned")
    return None


def _on_changed_states(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The filters as conditions on the states changed since the range began, tested on each
    state of a range of ix_action_state_held (few): those of the report (a programme) on the
    state's report id among the reports they select, found once per statement (a CTE), and
    not by index (`+ 0`), where PostgreSQL read a range of ix_action_state_report per report
    (7,400 for PEEL, each arm of the statement anew)."""
    own = filter_conditions(tuple(name for name in shape if name != "programme"))
    where: list[ColumnElement[bool]] = [unindexed(on_states(c)) for c in own]
    on_report = report_conditions(shape)
    if on_report:
        reports = select(R.id).where(*on_report).cte("selected_report")
        where.append((S.report_id + 0).in_(select(reports.c.id)))
    return where


def _read_kept(
    db: Reader, shape: tuple[str, ...], params: dict[str, Any]
) -> Callable[[date, date], dict[date, day_figures.Figures]]:
    """The kept figures of a run of days: the days' rows, or their groups the filters select."""
    if not shape:
        return lambda first, last: day_figures.read_days(db=db, first=first, last=last)
    return lambda first, last: day_groups.read_days(
        db=db, first=first, last=last, shape=shape, params=params
    )


def trend(
    *, db: Reader, filters: ActionFilters, interval: TrendInterval, start: date, end: date
) -> TrendOut:
    """Figures at each period end from the period holding `start` to `end`, for the actions the
    filters select as they stood then; and the ageing of the overdue ones on `end`."""
    _check(filters, start, end)
    ends = period_ends(interval=interval, start=start, end=end)
    if len(ends) > MAX_PERIODS:
        raise InvalidInput(
            f"from {start} to {end} is {len(ends)} periods; at most {MAX_PERIODS} are answered.",
            field="from",
            location="query",
        )
    first = period_start(start, interval)
    shape, params = filter_values(filters=replace(filters, as_of=None), as_of=ends[-1])
    kept = None
    if by_kept(shape):
        kept = trend_kept.figures(
            read_days=_read_kept(db, shape, params),
            first=first,
            ends=ends,
            today=clock.today(),
            by_changes=lambda since, days: by_changes(
                db=db, first=since, ends=days, shape=shape, params=params
            ),
        )
    if kept is not None:
        figures = kept
    elif by_delta(shape):
        figures = by_changes(db=db, first=first, ends=ends)
    else:
        figures = _each_state_placed(db=db, shape=shape, params=params, first=first, ends=ends)
    open_at, overdue_at = figures.open_at, figures.overdue_at
    completed_in, opened_in, age = figures.completed_in, figures.opened_in, figures.age
    items = [
        {
            "period_end": day,
            "open": open_at[k],
            "overdue": overdue_at[k],
            "completed": completed_in[k],
            "opened": opened_in[k],
        }
        for k, day in enumerate(ends, start=1)
    ]
    return TrendOut.model_validate(
        {
            "interval": interval,
            "items": items,
            "ageing": {
                "as_of": ends[-1],
                "days_0_30": age[0],
                "days_31_90": age[1],
                "days_91_180": age[2],
                "days_over_180": age[3],
            },
        }
    )


def _each_state_placed(
    *, db: Reader, shape: tuple[str, ...], params: dict[str, Any], first: date, ends: list[date]
) -> Figures:
    """With filters, few states pass them: one pass placing each of those that held in the
    range."""
    n, last = len(ends), ends[-1]
    bounds = _bounds(first, ends)
    began = _position(S.valid_from, bounds, "began")  # k: began in period k (0: before)
    # k: the state still held at the end of periods before k (valid_to >= bound k)
    ended = _position_from_top(S.valid_to, bounds[1:], "ended") + 1
    flags = trend_delta.state_flags()
    active = flags["active"]
    days_late = _days_late(last)
    ages = {
        "age_0": and_(active, S.due_date >= days_late[0]),
        "age_1": and_(active, S.due_date < days_late[0], S.due_date >= days_late[1]),
        "age_2": and_(active, S.due_date < days_late[1], S.due_date >= days_late[2]),
        "age_3": and_(active, S.due_date < days_late[2]),
    }
    where = [on_states(condition) for condition in filter_conditions(shape)]
    columns = (
        began.label("began"),
        ended.label("ended"),
        _late_from(ends, _position).label("late_from"),
        *(case((flag, 1), else_=0).label(name) for name, flag in {**flags, **ages}.items()),
    )
    in_range = and_(S.valid_to >= bounds[0], S.valid_from < bounds[-1])
    placed = select(*columns).where(in_range, *where).subquery("placed")
    keys = (placed.c.began, placed.c.ended, placed.c.late_from)
    sums = (func.sum(placed.c[name]) for name in (*flags, *ages))
    figures = Figures(n)
    for k_began, k_ended, k_late, *counts in db.execute(
        select(*keys, *sums).group_by(*keys), params
    ):
        figures.place(k_began, k_ended, k_late, [int(v) for v in counts])
    return figures


def today_range(interval: TrendInterval) -> tuple[date, date]:
    """The default range: the last DEFAULT_PERIODS periods up to today."""
    end = clock.today()
    return default_start(interval=interval, end=end), end


def trend_json(
    *,
    db: Reader,
    filters: ActionFilters,
    interval: TrendInterval,
    start: date | None,
    end: date | None,
) -> bytes:
    """`trend` as the API answers it; `end` None is today, `start` None the DEFAULT_PERIODS
    periods up to `end` (resolved here, in the read, so that the day it names is the day read)."""
    last = end or clock.today()
    first = start or default_start(interval=interval, end=last)
    answer = trend(db=db, filters=filters, interval=interval, start=first, end=last)
    return orjson.dumps(answer.model_dump(mode="json"), option=orjson.OPT_UTC_Z)
