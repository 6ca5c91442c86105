"""A scripted quarter of changes, replayed with the clock moved day by day, and what each day's
answers must be: the tests of answers as they stood (as_of), the trend and the changes share it.

Days are in Europe/London (the default AFI_TIMEZONE), winter, so UTC is the local time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app import clock
from tests.helpers import add_note, move

SEED_DAY = date(2026, 1, 5)
TODAY = date(2026, 3, 2)
WITHDRAWN_LINE = (
    "- The constabulary should ensure that the risks posed by registered sex offenders are "
    "managed effectively.\n"
)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Expected:
    """What one action was at the end of a day."""

    status: str = "open"
    owner_id: int | None = None
    due_date: date | None = None
    rag: str | None = None
    withdrawn: bool = False


@dataclass
class Scenario:
    a: int  # assigned, dated, revised, assessed, blocked, signed off
    b: int  # long overdue until its finding is withdrawn by a re-import
    c: int  # taken to pending sign-off, then refused and left in progress
    d: int  # overdue by 91 days at the end
    e: int  # falls due during the quarter
    owners: tuple[int, int]
    # Each day's state of a, b and c, at the end of the day (from the last change on or before).
    timeline: dict[date, dict[str, Expected]] = field(default_factory=dict)

    def expected(self, day: date) -> dict[str, Expected]:
        known = [d for d in self.timeline if d <= day]
        return self.timeline[max(known)] if known else {}

    def ids(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in "abcde"}


@contextmanager
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[datetime], None]]:
    def set_now(moment: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: moment)

    yield set_now


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def play(
    *,
    client: Any,
    approver: Any,
    seed_text: str,
    set_now: Callable[[datetime], None],
) -> Scenario:
    """Replay the quarter; the clock is left on TODAY."""
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text

    set_now(at(SEED_DAY, 9))
    with SessionLocal.begin() as session:
        import_text(session=session, raw=seed_text, metadata={}, actor=system("tests"))
    items = _ok(client.get("/api/v1/actions?limit=500"))["items"]
    by_text = {item["description"].split("\n")[0]: item["id"] for item in items}
    a, c, d, e = (items[i]["id"] for i in range(4))
    b = by_text[WITHDRAWN_LINE.removeprefix("- ").rstrip("\n")]
    assert b not in (a, c, d, e)
    owner_1 = _ok(client.post("/api/v1/owners", json={"name": "Supt Jones"}))["id"]
    owner_2 = _ok(client.post("/api/v1/owners", json={"name": "DCI Patel"}))["id"]
    scenario = Scenario(a=a, b=b, c=c, d=d, e=e, owners=(owner_1, owner_2))
    state = {name: Expected() for name in "abcde"}

    def keep(day: date) -> None:
        scenario.timeline[day] = {name: Expected(**vars(value)) for name, value in state.items()}

    keep(SEED_DAY)

    day = date(2026, 1, 6)
    set_now(at(day))
    _ok(client.patch(f"/api/v1/actions/{a}", json={"owner_id": owner_1, "due_date": "2026-02-01"}))
    _ok(client.patch(f"/api/v1/actions/{c}", json={"due_date": "2026-03-31"}))
    _ok(client.patch(f"/api/v1/actions/{b}", json={"due_date": "2025-10-01"}))
    _ok(client.patch(f"/api/v1/actions/{d}", json={"due_date": "2025-12-01"}))
    _ok(client.patch(f"/api/v1/actions/{e}", json={"due_date": "2026-02-20"}))
    state["a"].owner_id, state["a"].due_date = owner_1, date(2026, 2, 1)
    state["c"].due_date = date(2026, 3, 31)
    state["b"].due_date = date(2025, 10, 1)
    state["d"].due_date = date(2025, 12, 1)
    state["e"].due_date = date(2026, 2, 20)
    keep(day)

    day = date(2026, 1, 10)
    set_now(at(day))
    _ok(move(client, a, "in_progress"))
    _ok(client.patch(f"/api/v1/actions/{a}", json={"progress_note": "Started", "rag": "amber"}))
    _ok(move(client, c, "in_progress"))
    state["a"].status, state["a"].rag = "in_progress", "amber"
    state["c"].status = "in_progress"
    keep(day)

    day = date(2026, 1, 20)
    set_now(at(day))
    _ok(
        client.patch(
            f"/api/v1/actions/{a}",
            json={
                "due_date": "2026-01-25",
                "due_date_reason": "The board meets earlier",
                "progress_note": "Behind",
                "rag": "red",
            },
        )
    )
    add_note(client, c)
    _ok(move(client, c, "pending_sign_off"))
    state["a"].due_date, state["a"].rag = date(2026, 1, 25), "red"
    state["c"].status = "pending_sign_off"
    keep(day)

    day = date(2026, 2, 3)
    set_now(at(day))
    _ok(move(client, a, "blocked", "Waiting for the vendor"))
    _ok(move(approver, c, "in_progress", "The evidence does not show it"))
    state["a"].status = "blocked"
    state["c"].status = "in_progress"
    keep(day)

    day = date(2026, 2, 10)
    set_now(at(day))
    _ok(client.patch(f"/api/v1/actions/{a}", json={"owner_id": owner_2}))
    _ok(move(client, a, "in_progress"))
    add_note(client, a)
    _ok(move(client, a, "pending_sign_off"))
    state["a"].owner_id, state["a"].status = owner_2, "pending_sign_off"
    keep(day)

    day = date(2026, 2, 15)
    set_now(at(day))
    _ok(move(approver, a, "completed", "Seen"))
    state["a"].status = "completed"
    keep(day)

    day = date(2026, 2, 20)
    set_now(at(day))
    with SessionLocal.begin() as session:
        edited = seed_text.replace(WITHDRAWN_LINE, "")
        assert edited != seed_text
        import_text(session=session, raw=edited, metadata={}, actor=system("tests"))
    state["b"].withdrawn = True
    keep(day)

    set_now(at(TODAY, 12))
    return scenario
