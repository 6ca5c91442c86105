"""Issue 16: the daily tick writes each reminder once per action and day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app import clock
from app.cli import cli
from tests.helpers import move

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: moment)

    set_to(NOON)
    return set_to


def reminders() -> list[tuple[str, int, date | None]]:
    from app.db import SessionLocal
    from app.models import OutboxEvent

    with SessionLocal() as session:
        rows = session.execute(
            select(OutboxEvent.type, OutboxEvent.action_id, OutboxEvent.tick_date)
            .where(OutboxEvent.tick_date.is_not(None))
            .order_by(OutboxEvent.id)
        ).all()
    return [(type_, action_id, day) for type_, action_id, day in rows]


@pytest.fixture
def due_actions(client: TestClient, seeded: int, set_clock: Any) -> dict[str, int]:
    """Actions due yesterday, today, in 14 days, in 15 days; and one withdrawn past due."""
    ids = [a["id"] for a in client.get("/api/v1/actions?limit=5").json()["items"]]
    dues = {
        "overdue": TODAY - timedelta(days=1),
        "today": TODAY,
        "edge": TODAY + timedelta(days=14),
        "far": TODAY + timedelta(days=15),
        "withdrawn": TODAY - timedelta(days=30),
    }
    named = dict(zip(dues, ids, strict=True))
    for name, due in dues.items():
        response = client.patch(f"/api/v1/actions/{named[name]}", json={"due_date": str(due)})
        assert response.status_code == 200, response.text
    assert move(client, named["withdrawn"], "withdrawn", comment="Not needed").status_code == 200
    return named


def test_the_tick_writes_overdue_and_due_soon_once_a_day(due_actions: dict[str, int]) -> None:
    from app.worker import Worker

    worker = Worker()
    summary = worker.run_once()
    assert summary.reminded_on == TODAY
    expected = {
        ("action.overdue", due_actions["overdue"], TODAY),
        ("action.due_soon", due_actions["today"], TODAY),
        ("action.due_soon", due_actions["edge"], TODAY),
    }
    assert set(reminders()) == expected and len(reminders()) == 3
    # Again the same day: by this worker (it remembers), another one, the command line.
    assert worker.run_once().reminded_on is None
    assert Worker().run_once().reminded_on == TODAY
    result = CliRunner().invoke(cli, ["tick"])
    assert result.exit_code == 0, result.output
    assert "Reminders for 2026-12-01: 1 overdue, 2 due soon." in result.output
    assert len(reminders()) == 3


def test_the_next_day_has_its_own_reminders_in_the_feed(
    client: TestClient, due_actions: dict[str, int], set_clock: Callable[[datetime], None]
) -> None:
    from app.worker import Worker

    worker = Worker()
    worker.run_once()
    set_clock(NOON + timedelta(days=1))
    worker.run_once()
    tomorrow = TODAY + timedelta(days=1)
    assert set(reminders()) - {(t, a, d) for t, a, d in reminders() if d == TODAY} == {
        ("action.overdue", due_actions["overdue"], tomorrow),
        ("action.overdue", due_actions["today"], tomorrow),
        ("action.due_soon", due_actions["edge"], tomorrow),
        ("action.due_soon", due_actions["far"], tomorrow),
    }
    worker.run_once()  # the reminders written last pass are in the feed now
    feed = client.get("/api/v1/events?type=action.overdue").json()["items"]
    assert [(e["data"]["action_id"], e["data"]["on"]) for e in feed] == [
        (due_actions["overdue"], "2026-12-01"),
        (due_actions["overdue"], "2026-12-02"),
        (due_actions["today"], "2026-12-02"),
    ]
    assert feed[1]["data"]["days_overdue"] == 2
    assert feed[1]["data"]["actor"] == "daily tick"
    soon = client.get("/api/v1/events?type=action.due_soon").json()["items"]
    assert soon[0]["data"]["days_left"] == 0


def test_the_tick_command_takes_a_date_and_refuses_a_bad_one(
    due_actions: dict[str, int],
) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["tick", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "Reminders for 2026-11-20: 0 overdue, 2 due soon." in result.output
    assert {day for _, _, day in reminders()} == {date(2026, 11, 20)}
    result = runner.invoke(cli, ["tick", "--date", "tomorrow"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_a_due_date_setting_of_zero_days_reminds_only_of_what_is_due_today(
    due_actions: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings
    from app.worker import Worker

    monkeypatch.setattr(get_settings(), "due_soon_days", 0)
    Worker().run_once()
    assert sorted(reminders()) == sorted(
        [
            ("action.overdue", due_actions["overdue"], TODAY),
            ("action.due_soon", due_actions["today"], TODAY),
        ]
    )
