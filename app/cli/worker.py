"""The background work: `afi worker`, `afi tick` and `afi keep-figures`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import err
from app.cli.preflight import require_database

if TYPE_CHECKING:
    from app.worker import Worker

app = typer.Typer()


@app.command()
def tick(
    day: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="The day (default: today)."),
    ] = None,
) -> None:
    """Write the daily reminders (action.overdue, action.due_soon) of a day: at most one per
    action and day, so running it again changes nothing. The worker runs it every day."""
    require_database()
    from app import clock
    from app.db import SessionLocal
    from app.worker import run_tick

    try:
        today = date.fromisoformat(day) if day is not None else clock.today()
    except ValueError:
        err.print(f"[red]--date must be a day written YYYY-MM-DD, not {day!r}.[/red]")
        raise typer.Exit(2) from None
    counts = run_tick(sessions=SessionLocal, today=today)
    err.print(
        f"Reminders for {today.isoformat()}: {counts['action.overdue']} overdue, "
        f"{counts['action.due_soon']} due soon.",
        markup=False,
    )


@app.command("keep-figures")
def keep_figures() -> None:
    """Count and keep the trend's figures of every ended day not kept yet, as the worker does a
    batch of days a pass (after an upgrade, the first passes count every past day)."""
    require_database()
    from app import clock
    from app.db import SessionLocal
    from app.worker import keep_all_day_figures

    kept = keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow())
    err.print(f"Days counted and kept: {kept}.", markup=False)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
) -> None:
    """Run the background worker: takes events into the feed, writes the daily reminders,
    delivers webhooks and keeps the trend's figures of ended days, until stopped (Ctrl-C or
    SIGTERM)."""
    require_database()
    from app.worker import Worker

    work = Worker()
    try:
        if once:
            work.run_once()
            return
        _run_until_stopped(work)
    finally:
        work.close()


def _run_until_stopped(work: Worker) -> None:
    stop = threading.Event()

    def stop_on(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stop_on)
    signal.signal(signal.SIGINT, stop_on)
    err.print("Worker running; Ctrl-C stops it.", markup=False)
    work.run_forever(stop)


# How long `afi serve` waits, once stopped, for its worker's pass in progress to end.
WORKER_STOP_SECONDS = 30.0


@contextmanager
def background_worker(*, enabled: bool) -> Iterator[threading.Thread | None]:
    """The worker in a thread of this process while the block runs (`afi serve`): one per
    `afi serve`, whatever its number of API processes."""
    if not enabled:
        yield None
        return
    from app.worker import Worker

    work = Worker()
    stop = threading.Event()
    thread = threading.Thread(target=work.run_forever, args=(stop,), name="afi-worker", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(WORKER_STOP_SECONDS)
        work.close()
