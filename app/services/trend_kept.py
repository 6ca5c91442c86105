"""The trend without filters from the kept figures of each ended day (app.services.day_figures):
a row per day of the range rather than the states that changed in it.

Each period's end before today is that day's row (open; overdue, the sum of its ageing
buckets; the ageing itself when it is the last end); each period's completed and opened are
the sums of its days' rows. Today has not ended: when the range ends today, today's figures
are the trend's own for a range of that one day (by the delta, app.services.trend_delta: the
tallies and the few states begun or ended today), added to its period. Where a day the range
needs is not kept (not yet counted, or forgotten after a write dated on it) or the range ends
after today, there is no answer here and the trend takes its other path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from app.db import Reader
from app.services import day_figures
from app.services.trend_delta import Figures


def figures(
    *,
    db: Reader,
    first: date,
    ends: list[date],
    today: date,
    today_figures: Callable[[date], Figures],
) -> Figures | None:
    """The trend's figures for the periods from `first` ending on `ends`, or None where the
    kept days do not give them."""
    last = ends[-1]
    if last > today:
        return None
    yesterday = today - timedelta(days=1)
    days = (
        day_figures.read_days(db=db, first=first, last=min(last, yesterday))
        if first <= yesterday
        else {}
    )
    if days is None:
        return None
    answer = Figures(len(ends))
    start = first
    for k, end in enumerate(ends, start=1):
        for offset in range((min(end, yesterday) - start).days + 1):
            day = days[start + timedelta(days=offset)]
            answer.completed_in[k] += day.completed
            answer.opened_in[k] += day.opened
        if end < today:
            answer.open_at[k] = days[end].open
            answer.overdue_at[k] = sum(days[end].overdue)
        start = end + timedelta(days=1)
    if last < today:
        answer.age = list(days[last].overdue)
    else:  # the last period ends today
        now, n = today_figures(today), len(ends)
        answer.open_at[n], answer.overdue_at[n] = now.open_at[1], now.overdue_at[1]
        answer.completed_in[n] += now.completed_in[1]
        answer.opened_in[n] += now.opened_in[1]
        answer.age = list(now.age)
    return answer
