"""The trend from the kept figures of each ended day (app.services.day_figures): without
filters a row per day of the range, with filters of the status, RAG, assigned or not and
programme the sums of the groups they select (app.services.day_groups), rather than the states
that changed in it (or every state that passes the filters).

Each period's end is that day's figures (open; overdue, the sum of its ageing buckets; the
ageing itself at the last end); each period's completed and opened are the sums of its days'.
The last days of the range may not be kept: today (it has not ended), and the days that ended
since the worker's last count (the first hour after midnight, or a worker stopped). Those,
at most RECENT_DAYS of them, are counted by the delta (app.services.trend_delta: today's
tallies, or the actions the filters select, corrected by the few states begun or ended since
the first of them), the trend's own figures for a range of one period per day. Period ends
after today (a range ending in the future) are counted by the same delta: nothing has changed
after now, so their figures are today's actions as they stand, their overdue counted against
that end, and none completed or opened after today. Where any other day of the range is not
kept (not counted yet after an upgrade, forgotten after a write dated on it) or the range's
first period starts after today, there is no answer here and the trend takes its other path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import NamedTuple

from app.services import day_figures
from app.services.trend_delta import Figures

# The most days at the end of a range counted by the delta rather than read.
RECENT_DAYS = 31


class _Day(NamedTuple):
    open: int
    overdue: int
    completed: int
    opened: int


_NOTHING = _Day(0, 0, 0, 0)


def figures(
    *,
    read_days: Callable[[date, date], Mapping[date, day_figures.Figures]],
    first: date,
    ends: list[date],
    today: date,
    by_changes: Callable[[date, list[date]], Figures],
) -> Figures | None:
    """The trend's figures for the periods from `first` ending on `ends`, or None where the
    kept days do not give them. `read_days(first, last)`: the kept figures of those days
    (day_figures.read_days, or day_groups.read_days for the filters); `by_changes(first,
    ends)`: the trend's figures by the delta."""
    if first > today:
        return None
    last = ends[-1]
    known = min(last, today)  # the last day that has begun
    yesterday = today - timedelta(days=1)
    kept = read_days(first, min(last, yesterday))
    days = {
        day: _Day(found.open, sum(found.overdue), found.completed, found.opened)
        for day, found in kept.items()
    }
    # The days not kept must be the last ones of the range, and few.
    recent = known
    while recent >= first and recent not in days and (known - recent).days <= RECENT_DAYS:
        recent -= timedelta(days=1)
    not_kept = [recent + timedelta(days=k) for k in range(1, (known - recent).days + 1)]
    if len(not_kept) > RECENT_DAYS or len(days) + len(not_kept) < (known - first).days + 1:
        return None
    counted_days = not_kept + [end for end in ends if end > today]
    if counted_days:
        counted = by_changes(counted_days[0], counted_days)
        for k, day in enumerate(counted_days, start=1):
            days[day] = _Day(
                counted.open_at[k],
                counted.overdue_at[k],
                counted.completed_in[k],
                counted.opened_in[k],
            )
        ageing = list(counted.age)
    else:
        ageing = list(kept[last].overdue)
    answer = Figures(len(ends))
    start = first
    for k, end in enumerate(ends, start=1):
        answer.open_at[k], answer.overdue_at[k] = days[end].open, days[end].overdue
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            # The days after today that are no period's end: nothing was done on them.
            during = days[day] if day <= today else days.get(day, _NOTHING)
            answer.completed_in[k] += during.completed
            answer.opened_in[k] += during.opened
        start = end + timedelta(days=1)
    answer.age = ageing
    return answer
