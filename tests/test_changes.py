"""What changed between two days (GET /api/v1/changes), checked against the scripted quarter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem
from tests.history_scenario import TODAY, Scenario, clock_at, play


@pytest.fixture
def scenario(client: Any, client_as: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    approver = client_as("approver", user="ann")
    with clock_at(monkeypatch) as set_now:
        return play(client=client, approver=approver, seed_text=seed_text, set_now=set_now)


def _changes(client: Any, query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/changes?{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _seen(scenario: Scenario, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    names = {action_id: name for name, action_id in scenario.ids().items()}
    return [(item["at"][:10], item["kind"], names[item["action_id"]]) for item in body["items"]]


QUARTER = [
    ("2026-01-10", "status_changed", "a"),
    ("2026-01-10", "rag_changed", "a"),
    ("2026-01-10", "status_changed", "c"),
    ("2026-01-20", "due_date_revised", "a"),
    ("2026-01-20", "rag_changed", "a"),
    ("2026-01-20", "proposed_for_closure", "c"),
    ("2026-01-26", "newly_overdue", "a"),  # due 25 January, in progress
    ("2026-02-03", "status_changed", "a"),
    ("2026-02-03", "status_changed", "c"),
    ("2026-02-10", "status_changed", "a"),
    ("2026-02-10", "proposed_for_closure", "a"),
    ("2026-02-15", "status_changed", "a"),
    ("2026-02-21", "newly_overdue", "e"),  # due 20 February, open
]


def test_the_quarter_oldest_first(client: Any, scenario: Scenario) -> None:
    body = _changes(client, "since=2026-01-06")
    assert (body["since"], body["until"], body["truncated"]) == ("2026-01-06", str(TODAY), False)
    assert _seen(scenario, body) == QUARTER
    by_kind = {(item["kind"], item["at"][:10]): item for item in body["items"]}
    revised = by_kind[("due_date_revised", "2026-01-20")]
    assert (revised["from"], revised["to"], revised["reason"]) == (
        "2026-02-01",
        "2026-01-25",
        "The board meets earlier",
    )
    assert (by_kind[("rag_changed", "2026-01-20")]["from"], "red") == ("amber", "red")
    proposed = by_kind[("proposed_for_closure", "2026-01-20")]
    assert (proposed["from"], proposed["to"]) == ("in_progress", "pending_sign_off")
    overdue = by_kind[("newly_overdue", "2026-01-26")]
    assert (overdue["at"], overdue["to"]) == ("2026-01-26T00:00:00Z", "2026-01-25")
    assert {"reference", "title", "actor"} <= overdue.keys()


def test_a_window_holds_only_its_days(client: Any, scenario: Scenario) -> None:
    body = _changes(client, "since=2026-02-01&until=2026-02-12")
    assert _seen(scenario, body) == [c for c in QUARTER if "2026-02-01" <= c[0] <= "2026-02-12"]


def test_filters_judge_each_action_as_it_stood_at_the_end(client: Any, scenario: Scenario) -> None:
    owner_1, owner_2 = scenario.owners
    # At the end of 31 January a was owner 1's; today it is owner 2's.
    january = _changes(client, f"since=2026-01-06&until=2026-01-31&owner_id={owner_1}")
    assert _seen(scenario, january) == [c for c in QUARTER if c[2] == "a" and c[0] <= "2026-01-31"]
    now = _changes(client, f"since=2026-01-06&owner_id={owner_2}")
    assert _seen(scenario, now) == [c for c in QUARTER if c[2] == "a"]
    assert _changes(client, f"since=2026-01-06&until=2026-01-31&owner_id={owner_2}")["items"] == []


def test_at_most_limit_items(client: Any, scenario: Scenario) -> None:
    body = _changes(client, "since=2026-01-06&limit=4")
    assert (body["truncated"], _seen(scenario, body)) == (True, QUARTER[:4])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-02-01&until=2026-01-01", "since"),
        ("since=2024-01-01&until=2026-01-01", "since"),
        ("since=2026-01-01&overdue=true", "overdue"),
        ("since=2026-01-01&as_of=2026-01-01", "as_of"),
        ("since=2026-01-01&limit=0", "limit"),
        ("since=yesterday", "since"),
    ],
)
def test_absurd_requests_are_refused(client: Any, query: str, field: str) -> None:
    body = assert_problem(client.get(f"/api/v1/changes?{query}"), 422)
    assert field in {error["field"] for error in body["errors"]}, body
