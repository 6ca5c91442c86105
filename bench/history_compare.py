"""Old against new on a real database: a past day's stats and overdue summary, and the trend,
made by the delta (app.services.stats_delta, trend_delta) or from the kept days
(app.services.trend_kept, when `afi keep-figures` or the worker has counted them) and by
reading every state that held (the paths they replace, still used with other filters); the
answers must be the same JSON.

    .venv/bin/python -m bench.history_compare --url sqlite:////tmp/hist-1m.db
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--quick", action="store_true", help="fewer days and groups")
    parser.add_argument(
        "--only", action="append", default=[], help="only checks whose name contains this"
    )
    args = parser.parse_args()
    os.environ["AFI_DATABASE_URL"] = args.url

    from sqlalchemy import create_engine

    from app import clock
    from app.schemas.filters import ActionFilters
    from app.schemas.stats import StatsGroupBy
    from app.schemas.trend import TrendInterval
    from app.services import overdue, stats, stats_delta, trend, trend_kept

    engine = create_engine(args.url)
    today = clock.today()
    days = [today - timedelta(days=n) for n in (1, 30, 365)]
    if not args.quick:
        days += [today - timedelta(days=n) for n in (7, 100, 800)]
    groups = [StatsGroupBy.STATUS, StatsGroupBy.OWNER]
    if not args.quick:
        groups += [StatsGroupBy.PRIORITY, StatsGroupBy.RAG, StatsGroupBy.FORCE, StatsGroupBy.PILLAR]
    statuses: list[tuple[str, ...]] = [(), ("open", "completed"), ("blocked",)]
    checks: list[tuple[str, Callable[[Any], Any]]] = []
    for day in days:
        for group_by in groups:
            for wanted in statuses:
                checks.append(
                    (
                        f"stats {group_by} {day} {wanted}",
                        lambda db, day=day, group_by=group_by, wanted=wanted: stats.action_stats(
                            db=db,
                            filters=ActionFilters(as_of=day, statuses=wanted),
                            group_by=group_by,
                        ),
                    )
                )
        for within in (None, 30):
            checks.append(
                (
                    f"summary {day} {within}",
                    lambda db, day=day, within=within: overdue.summary(
                        db=db, filters=ActionFilters(as_of=day), as_of=day, due_within=within
                    ),
                )
            )
    ranges: list[tuple[TrendInterval, date, date]] = []
    for interval in (TrendInterval.MONTH, TrendInterval.QUARTER):
        ranges.append((interval, trend.default_start(interval=interval, end=today), today))
        ranges.append((interval, today - timedelta(days=3 * 365), today - timedelta(days=200)))
        ranges.append((interval, today - timedelta(days=40), today - timedelta(days=1)))
        if not args.quick:  # ranges ending on past days, one and three years long
            for back in (1, 7, 30, 100, 365, 800):
                end = today - timedelta(days=back)
                ranges.append((interval, end - timedelta(days=365), end))
                ranges.append((interval, end - timedelta(days=3 * 365), end))
    # The filters the kept groups answer (app.services.day_groups).
    grouped = [
        ActionFilters(),
        ActionFilters(statuses=("open",)),
        ActionFilters(programme="PEEL"),
        ActionFilters(rags=("red",)),
        ActionFilters(rags=("green", "amber")),
        ActionFilters(unassigned=True),
        ActionFilters(statuses=("blocked",), unassigned=False),
        ActionFilters(statuses=("open", "in_progress"), programme="peel", unassigned=False),
    ]
    for interval, start, end in ranges:
        for selected in grouped if not args.quick else grouped[:1]:
            given = {k: v for k, v in asdict(selected).items() if v not in ((), None)}
            checks.append(
                (
                    f"trend {interval} {start}..{end} {given or ''}",
                    lambda db, i=interval, s=start, e=end, f=selected: trend.trend(
                        db=db, filters=f, interval=i, start=s, end=e
                    ).model_dump(mode="json"),
                )
            )
    kept: list[bool] = []
    read_kept = trend_kept.figures

    def kept_figures(**kwargs: Any) -> Any:
        found = read_kept(**kwargs)
        kept.append(found is not None)
        return found

    trend_kept.figures = kept_figures  # type: ignore[assignment]
    failed = 0
    with engine.connect() as db:
        for name, check in checks:
            if args.only and not any(part in name for part in args.only):
                continue
            kept.clear()
            started = time.perf_counter()
            new = json.dumps(check(db), default=str)
            took_new = time.perf_counter() - started
            how = " (kept days)" if kept == [True] else ""
            answers, by_delta, by_kept = stats_delta.answers, trend.by_delta, trend.by_kept
            stats_delta.answers = lambda **_: False  # type: ignore[assignment]
            trend.by_delta = lambda _shape: False  # type: ignore[assignment]
            trend.by_kept = lambda shape: not shape  # type: ignore[assignment]
            try:
                started = time.perf_counter()
                old = json.dumps(check(db), default=str)
                took_old = time.perf_counter() - started
            finally:
                stats_delta.answers, trend.by_delta, trend.by_kept = answers, by_delta, by_kept
            same = "same" if new == old else "DIFFERENT"
            failed += new != old
            times = f"old {took_old * 1000:7.0f} ms  new {took_new * 1000:6.0f} ms"
            print(f"  {name + how:<72} {same}  {times}")
            db.rollback()
    engine.dispose()
    print(f"{failed} different")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
