"""The scripted quarter (tests.history_scenario) replayed with the worker's pass on each day,
then carried on for seven months with a pass a week (`carried_on`): the trend's kept figures
are tested on it (tests/test_trend_kept.py, tests/test_trend_groups.py). Loaded by conftest as
a plugin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app import clock
from app.db import SessionLocal
from app.services import trend_kept
from app.worker import Worker, keep_all_day_figures
from tests.helpers import add_note, move
from tests.history_scenario import SEED_DAY, at, play

LATER = date(2026, 10, 12)  # the scenario carried on to here


def run_worker(set_now: Any, since: date, until: date, every: int) -> None:
    """The worker's pass every `every` days from `since` to `until` (at 06:00), as a running
    server makes it each day: the days ended since the last pass are kept."""
    worker = Worker()
    try:
        day = since
        while day <= until:
            set_now(at(day, 6))
            worker.run_once()
            day += timedelta(days=every)
    finally:
        worker.close()


class MovingClock:
    """The clock, moved by the scenario; the worker runs on each day it passes over."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.now: datetime | None = None
        self.every = 1  # days between the worker's passes

    def set(self, moment: datetime) -> None:
        self.monkeypatch.setattr(clock, "utcnow", lambda: moment)
        self.now = moment

    def walk_to(self, moment: datetime) -> None:
        if self.now is not None and moment.date() > self.now.date():
            since = self.now.date() + timedelta(days=1)
            run_worker(self.set, since, moment.date(), self.every)
        self.set(moment)


@pytest.fixture
def carried_on(
    client: Any, client_as: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MovingClock]:
    """The scripted quarter with the worker's pass on each day, then seven more months of
    changes with a pass a week; the clock left at LATER, noon, with every day before it kept."""
    approver = client_as("approver", user="ann")
    moving = MovingClock(monkeypatch)
    moving.set(datetime.combine(SEED_DAY - timedelta(days=1), datetime.min.time(), UTC))
    scenario = play(client=client, approver=approver, seed_text=seed_text, set_now=moving.walk_to)
    d, e, c = scenario.d, scenario.e, scenario.c
    moving.every = 7
    moving.walk_to(at(date(2026, 4, 10)))
    assert move(client, d, "in_progress").status_code == 200
    moving.walk_to(at(date(2026, 6, 3)))
    assert move(client, e, "in_progress").status_code == 200
    assert move(client, e, "blocked", "Waiting").status_code == 200
    moving.walk_to(at(date(2026, 7, 15)))
    revised = {"due_date": "2026-08-01", "due_date_reason": "Budget"}
    assert client.patch(f"/api/v1/actions/{c}", json=revised).status_code == 200
    moving.walk_to(at(date(2026, 8, 20)))
    add_note(client, d)
    assert move(client, d, "pending_sign_off").status_code == 200
    assert move(approver, d, "completed", "Seen").status_code == 200
    moving.walk_to(at(LATER, 12))
    keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow())  # the days since the last pass
    yield moving


def json_at(client: Any, url: str) -> Any:
    """The JSON answer at `url`, which must be a 200."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def kept_used(client: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> tuple[Any, bool]:
    """The answer, and whether it came from the kept days."""
    answered: list[bool] = []
    with monkeypatch.context() as patched:
        read = trend_kept.figures
        patched.setattr(
            trend_kept,
            "figures",
            lambda **kw: answered.append((found := read(**kw)) is not None) or found,
        )
        body = json_at(client, url)
    return body, answered == [True]
