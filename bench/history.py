"""Answers as they stood, the trend and the changes at scale, timed in process (no HTTP).

    .venv/bin/python -m bench.history --url sqlite:////tmp/hist-1m.db
    .venv/bin/python -m bench.history --url postgresql+psycopg://postgres@127.0.0.1:5432/hist_1m

The database must be migrated to 0012 or later (its states built). Each answer is the service
function a route calls, on one connection: 1 warm-up, then `--repeats` timed (fewer when slow:
at most `--max-seconds` per answer, at least 3); p50 and the slowest are printed. Today's
answers (the action rows) are timed beside the same answers on past days (the states).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument(
        "--only", action="append", default=[], help="only answers whose name contains this"
    )
    args = parser.parse_args()
    os.environ["AFI_DATABASE_URL"] = args.url

    from sqlalchemy import create_engine, func, select

    from app import clock
    from app.models import ActionState
    from app.schemas.filters import ActionFilters, ActionSort
    from app.schemas.stats import StatsGroupBy
    from app.schemas.trend import TrendInterval
    from app.services import action_reads, actions, changes, overdue, stats, trend

    engine = create_engine(args.url)
    today = clock.today()
    month, year = today - timedelta(days=30), today - timedelta(days=365)
    with engine.connect() as db:
        states = db.scalar(select(func.count()).select_from(ActionState))
        print(f"{args.url}: {states:,} states; today {today}")
        some_id = db.scalar(select(func.min(ActionState.action_id)))
        none = ActionFilters()

        def at(day: Any) -> ActionFilters:
            return ActionFilters(as_of=day)

        second_page = changes.changes(
            db=db, filters=none, since=today - timedelta(days=90), until=today, limit=1000
        ).next_cursor
        answers: list[tuple[str, Callable[[], Any]]] = []
        for label, day in (("today", today), ("30 days ago", month), ("a year ago", year)):
            answers += [
                (
                    f"stats by status, {label}",
                    lambda day=day: stats.action_stats(db=db, filters=at(day)),
                ),
                (
                    f"stats by owner, {label}",
                    lambda day=day: stats.action_stats(
                        db=db, filters=at(day), group_by=StatsGroupBy.OWNER
                    ),
                ),
                (
                    f"overdue summary, {label}",
                    lambda day=day: overdue.summary(
                        db=db, filters=at(day), as_of=day, due_within=None
                    ),
                ),
                (
                    f"list page 1, {label}",
                    lambda day=day: action_reads.list_page(db=db, filters=at(day), limit=50),
                ),
                (
                    f"list, overdue by days, {label}",
                    lambda day=day: action_reads.list_page(
                        db=db,
                        filters=ActionFilters(as_of=day, overdue=True),
                        sort=ActionSort.DAYS_OVERDUE_DESC,
                        limit=50,
                    ),
                ),
                (
                    f"one action, {label}",
                    lambda day=day: actions.view(db=db, action_id=some_id, as_of=day),
                ),
            ]
        answers += [
            (
                "trend, 12 months",
                lambda: trend.trend(
                    db=db,
                    filters=none,
                    interval=TrendInterval.MONTH,
                    start=trend.default_start(interval=TrendInterval.MONTH, end=today),
                    end=today,
                ),
            ),
            (
                "trend, 12 quarters",
                lambda: trend.trend(
                    db=db,
                    filters=none,
                    interval=TrendInterval.QUARTER,
                    start=trend.default_start(interval=TrendInterval.QUARTER, end=today),
                    end=today,
                ),
            ),
            (
                "trend, 12 months, one force",
                lambda: trend.trend(
                    db=db,
                    filters=ActionFilters(force="Kent"),
                    interval=TrendInterval.MONTH,
                    start=trend.default_start(interval=TrendInterval.MONTH, end=today),
                    end=today,
                ),
            ),
            (
                "changes, last 90 days (first 1000)",
                lambda: changes.changes(
                    db=db, filters=none, since=today - timedelta(days=90), until=today, limit=1000
                ),
            ),
            (
                "changes, last 90 days, second page (cursor)",
                lambda: changes.changes(
                    db=db,
                    filters=none,
                    since=today - timedelta(days=90),
                    until=today,
                    limit=1000,
                    cursor=second_page,
                ),
            ),
            (
                "changes, last 90 days, one force",
                lambda: changes.changes(
                    db=db,
                    filters=ActionFilters(force="Kent"),
                    since=today - timedelta(days=90),
                    until=today,
                ),
            ),
        ]
        for name, answer in answers:
            if args.only and not any(part in name for part in args.only):
                continue
            answer()  # warm-up
            times: list[float] = []
            spent = 0.0
            while len(times) < args.repeats and (spent < args.max_seconds or len(times) < 3):
                started = time.perf_counter()
                answer()
                took = time.perf_counter() - started
                times.append(took)
                spent += took
            print(
                f"  {name:<40} p50 {statistics.median(times) * 1000:8.1f} ms"
                f"   max {max(times) * 1000:8.1f} ms   ({len(times)} runs)"
            )
            db.rollback()
    engine.dispose()


if __name__ == "__main__":
    main()
