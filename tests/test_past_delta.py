"""A past day's stats, overdue summary and the trend made as today's figures corrected by the
states that changed since (app.services.stats_delta, app.services.trend_delta), against the
same answers read from every state that held (app.services.stats_past, the trend placing each
state), over the scripted quarter (tests.history_scenario): every day, every group the delta
answers, status filters, and trends over ranges ending on past days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app import clock
from app.db import SessionLocal
from app.principal import system
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import overdue, stats_by_report_past, stats_delta, stats_past, tallies, trend
from app.services.reports import import_text
from tests.helpers import add_note, move
from tests.history_scenario import SEED_DAY, TODAY, at, clock_at, play

_GROUPS = [
    StatsGroupBy.STATUS,
    StatsGroupBy.OWNER,
    StatsGroupBy.PRIORITY,
    StatsGroupBy.RAG,
    StatsGroupBy.FORCE,
    StatsGroupBy.PILLAR,
]
_STATUSES = ["", "&status=open&status=completed", "&status=blocked&status=in_progress"]


@pytest.fixture
def scenario(client: Any, client_as: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    approver = client_as("approver", user="ann")
    with clock_at(monkeypatch) as set_now:
        return play(client=client, approver=approver, seed_text=seed_text, set_now=set_now)


def _days() -> list[date]:
    days = [SEED_DAY + timedelta(days=n) for n in range(0, (TODAY - SEED_DAY).days, 3)]
    return [SEED_DAY - timedelta(days=1), *days, TODAY - timedelta(days=1)]


def _both_ways(
    client: Any, monkeypatch: pytest.MonkeyPatch, url: str, target: Any, name: str
) -> None:
    with monkeypatch.context() as patched:
        calls: list[str] = []
        read = tallies.read
        patched.setattr(tallies, "read", lambda db, dim: calls.append(dim) or read(db, dim))
        delta = client.get(url)
    assert calls, f"{url} was not answered from today's figures"
    with monkeypatch.context() as patched:
        patched.setattr(target, name, lambda *_, **__: False)
        scanned = client.get(url)
    assert delta.status_code == scanned.status_code == 200, url
    assert delta.json() == scanned.json(), url


@pytest.mark.parametrize("group_by", _GROUPS)
def test_past_stats_by_delta_are_the_scanned_ones(
    client: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch, group_by: StatsGroupBy
) -> None:
    for day in _days():
        for statuses in _STATUSES:
            url = f"/api/v1/stats?as_of={day}&group_by={group_by}{statuses}"
            _both_ways(client, monkeypatch, url, stats_delta, "answers")


def _after_the_quarter(
    client: Any, client_as: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch, seed_text: str
) -> list[date]:
    """Days after the quarter: one action completed by its due date, then that date revised to
    before the completion (on the days between, it held a state completed on time since
    ended); another dated and completed by its date in between; and another report imported,
    one of its actions given a due date still to come, then left alone. The clock is left
    after them; the days after today are given."""
    approver = client_as("approver", user="ann")
    items = client.get("/api/v1/actions?status=open&limit=200").json()["items"]
    spare = [item["id"] for item in items if item["id"] not in scenario.ids().values()]
    first, second = spare[:2]
    later = [TODAY + timedelta(days=n) for n in range(1, 6)]
    monkeypatch.setattr(clock, "utcnow", lambda: at(later[0]))
    with SessionLocal.begin() as session:
        other = seed_text.replace("Cumbria PEEL 2015", "Kent PEEL 2015", 1)
        imported = import_text(session=session, raw=other, metadata={}, actor=system("tests"))
    items = client.get(f"/api/v1/actions?report_id={imported.report.id}&limit=1").json()["items"]
    elsewhere = items[0]["id"]

    def complete(action_id: int) -> None:
        add_note(client, action_id)
        for to in ("in_progress", "pending_sign_off"):
            assert move(client, action_id, to).status_code == 200
        assert move(approver, action_id, "completed", "Seen").status_code == 200

    def revise(action_id: int, day: date) -> None:
        revised = {"due_date": str(day), "due_date_reason": "Re-planned"}
        assert client.patch(f"/api/v1/actions/{action_id}", json=revised).status_code == 200

    revise(first, later[1])
    complete(first)
    revise(elsewhere, later[-1] + timedelta(days=30))
    monkeypatch.setattr(clock, "utcnow", lambda: at(later[2]))
    revise(second, later[-1] + timedelta(days=5))
    complete(second)
    monkeypatch.setattr(clock, "utcnow", lambda: at(later[3]))
    revise(first, TODAY)
    monkeypatch.setattr(clock, "utcnow", lambda: at(later[-1]))
    return later[:-1]


def test_past_stats_by_report_by_delta_are_the_scanned_ones_byte_for_byte(
    client: Any, client_as: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch, seed_text: str
) -> None:
    # Written straight to JSON from today's rows and the states changed since, against
    # orjson of the answer built from every state that held. Changed today: e overdue since
    # before d by its new due date, so that on a past day the first overdue action of their
    # report by today's rows (e) did not hold then, and the next (d) is its oldest.
    revised = {"due_date": "2025-11-01", "due_date_reason": "Re-planned"}
    assert client.patch(f"/api/v1/actions/{scenario.e}", json=revised).status_code == 200
    next_found: list[int] = []
    next_held = stats_by_report_past._next_held

    def spied(*args: Any, **kwargs: Any) -> Any:
        found = next_held(*args, **kwargs)
        next_found.append(len(found))
        return found

    after = _after_the_quarter(client, client_as, scenario, monkeypatch, seed_text)
    on_time_seen = 0
    for day in [*_days(), *after]:
        for statuses in _STATUSES:
            url = f"/api/v1/stats?as_of={day}&group_by=report{statuses}"
            with monkeypatch.context() as patched:
                patched.setattr(stats_by_report_past, "_next_held", spied)
                patched.setattr(stats_past, "figures", _not_called)
                delta = client.get(url)
            with monkeypatch.context() as patched:
                patched.setattr(stats_by_report_past, "answers", lambda **_: False)
                scanned = client.get(url)
            assert delta.status_code == scanned.status_code == 200, url
            assert delta.content == scanned.content, url
            totals = scanned.json()["totals"]
            on_time_seen += totals["completed_on_time_revised"] > 0
            on_time_seen += totals["completed_on_time_original"] > 0
    assert on_time_seen
    # The first overdue action by today's rows was passed over, and a next one found.
    assert any(next_found)


def _not_called(*_: Any, **__: Any) -> Any:
    raise AssertionError("read from every state")


def test_past_stats_fall_back_to_the_states_when_todays_figures_disagree_with_them(
    client: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    day = TODAY - timedelta(days=1)
    url = f"/api/v1/stats?as_of={day}&group_by=owner"
    scanned = client.get(url).json()
    assert any(group["overdue"] for group in scanned["groups"])
    # As if an overdue action's row had been changed without its state: the walk of today's
    # overdue actions finds no oldest for any group.
    monkeypatch.setattr(stats_delta, "oldest_overdue", lambda *_, **__: {})
    monkeypatch.setattr(stats_delta, "part", _without_oldest(stats_delta.part))
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.json() == scanned
    assert "read from the states" in caplog.text


def _without_oldest(part: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        found = part(*args, **kwargs)
        found.oldest.clear()
        return found

    return wrapped


def test_past_overdue_summary_by_delta_is_the_scanned_one(
    client: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in _days():
        for query in ("", "&due_within=7", "&status=blocked&due_within=30"):
            url = f"/api/v1/actions/overdue-summary?as_of={day}{query}"
            _both_ways(client, monkeypatch, url, stats_delta, "answers")


@pytest.mark.parametrize("interval", ["month", "quarter"])
def test_trend_by_delta_is_every_state_placed(
    client: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch, interval: str
) -> None:
    for start in (date(2025, 6, 1), SEED_DAY, date(2026, 2, 10), TODAY):
        for end in (SEED_DAY, date(2026, 2, 1), date(2026, 2, 20), TODAY, None):
            if end is not None and end < start:
                continue
            url = f"/api/v1/stats/trend?interval={interval}&from={start}"
            url += f"&to={end}" if end is not None else ""
            _both_ways(client, monkeypatch, url, trend, "by_delta")


def test_past_longest_overdue_by_delta_cut_anywhere_are_the_scanned_ones(
    scenario: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The summary's page of longest-overdue actions cut after each count: the walk and the
    # ended states each give their first ones, and the page is taken from both.
    seen = 0
    for day in _days():
        for oldest in (1, 2, 3, 5):
            for statuses in ((), ("blocked", "open")):
                filters = ActionFilters(as_of=day, statuses=statuses)

                def summary(day: date = day, oldest: int = oldest, f: Any = filters) -> Any:
                    return overdue.summary(
                        db=session, filters=f, as_of=day, due_within=None, oldest=oldest
                    )

                delta = summary()
                with monkeypatch.context() as patched:
                    patched.setattr(stats_delta, "answers", lambda **_: False)
                    scanned = summary()
                assert delta == scanned, (day, oldest, statuses)
                seen += len(delta["oldest"]) == oldest
    assert seen  # some pages were cut
