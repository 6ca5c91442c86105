"""The trend (GET /api/v1/stats/trend): checked against the scripted quarter, and against a
recount of the same days by the stats as they stood (as_of)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import assert_problem
from tests.history_scenario import TODAY, Scenario, clock_at, play
from tests.test_as_of import _overdue

CLOSED = ("completed", "superseded", "withdrawn")


@pytest.fixture
def scenario(client: Any, client_as: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    approver = client_as("approver", user="ann")
    with clock_at(monkeypatch) as set_now:
        return play(client=client, approver=approver, seed_text=seed_text, set_now=set_now)


def _trend(client: Any, query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/stats/trend?{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_months_of_the_quarter_as_they_stood(client: Any, scenario: Scenario) -> None:
    total = client.get("/api/v1/actions?count=true&limit=1").json()["total"]
    body = _trend(client, "interval=month&from=2026-01-01")
    ends = [date(2026, 1, 31), date(2026, 2, 28), TODAY]
    assert body["interval"] == "month"
    assert [date.fromisoformat(item["period_end"]) for item in body["items"]] == ends
    for item, day in zip(body["items"], ends, strict=True):
        expected = scenario.expected(day)
        closed = sum(e.status in CLOSED for e in expected.values())
        assert item["open"] == total - closed, day
        assert item["overdue"] == sum(_overdue(e, day) for e in expected.values()), day
    assert [item["completed"] for item in body["items"]] == [0, 1, 0]  # a, on 15 February
    assert [item["opened"] for item in body["items"]] == [total, 0, 0]
    # On 2 March: d is 91 days late (due 1 December), e 10 days (due 20 February).
    assert body["ageing"] == {
        "as_of": TODAY.isoformat(),
        "days_0_30": 1,
        "days_31_90": 0,
        "days_91_180": 1,
        "days_over_180": 0,
    }


def test_each_period_end_matches_the_stats_as_they_stood(client: Any, scenario: Scenario) -> None:
    for query in ("interval=month&from=2025-12-01", "interval=quarter&from=2025-07-01"):
        for item in _trend(client, query)["items"]:
            stats = client.get(f"/api/v1/stats?as_of={item['period_end']}").json()["totals"]
            closed = sum(stats["counts"][status] for status in CLOSED)
            assert (item["open"], item["overdue"]) == (
                stats["total"] - closed,
                stats["overdue"],
            ), item


def test_filters_apply_to_each_action_as_it_stood(client: Any, scenario: Scenario) -> None:
    owner_1, owner_2 = scenario.owners
    first = _trend(client, f"from=2026-01-01&owner_id={owner_1}")["items"]
    # a was owner 1's from 6 January to 10 February, overdue on 31 January (due the 25th).
    assert [(i["open"], i["overdue"]) for i in first] == [(1, 1), (0, 0), (0, 0)]
    second = _trend(client, f"from=2026-01-01&owner_id={owner_2}")["items"]
    assert [(i["open"], i["completed"]) for i in second] == [(0, 0), (0, 1), (0, 0)]
    red = _trend(client, "from=2026-01-01&rag=red")["items"]
    assert [i["open"] for i in red] == [1, 0, 0]


def test_defaults_are_the_last_twelve_months(client: Any, scenario: Scenario) -> None:
    body = _trend(client, "")
    assert body["interval"] == "month"
    ends = [item["period_end"] for item in body["items"]]
    assert (len(ends), ends[0], ends[-1]) == (12, "2025-04-30", TODAY.isoformat())
    quarters = _trend(client, "interval=quarter&to=2026-02-10")["items"]
    assert (len(quarters), quarters[0]["period_end"]) == (12, "2023-06-30")
    assert quarters[-1]["period_end"] == "2026-02-10"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("interval=month&from=2000-01-01&to=2026-01-01", "from"),
        ("as_of=2026-01-01", "as_of"),
        ("overdue=true", "overdue"),
        ("stale=false", "stale"),
        ("interval=week", "interval"),
        ("from=2026-13-01", "from"),
    ],
)
def test_absurd_requests_are_refused(client: Any, query: str, field: str) -> None:
    body = assert_problem(client.get(f"/api/v1/stats/trend?{query}"), 422)
    assert field in {error["field"] for error in body["errors"]}, body


def test_viewers_read_the_trend(client_as: Any) -> None:
    assert client_as("viewer").get("/api/v1/stats/trend").status_code == 200


def test_imported_actions_are_opened_though_the_clock_moves_during_the_import(
    client: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real clock moves between the import's first reading and the events it writes: the
    actions' first states must still begin when the actions were made, or they never count
    as opened."""
    from app import clock

    readings = iter(range(1_000_000))
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    monkeypatch.setattr(clock, "utcnow", lambda: start + timedelta(seconds=next(readings)))
    response = client.post(
        "/api/v1/reports", content=seed_text.encode(), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201, response.text
    body = _trend(client, "interval=month&from=2026-01-01&to=2026-01-31")
    assert [(item["open"], item["opened"]) for item in body["items"]] == [(17, 17)]
