"""What changed between two days (GET /api/v1/changes), checked against the scripted quarter."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from tests.helpers import assert_problem, move
from tests.history_scenario import SEED_DAY, TODAY, Scenario, at, clock_at, play


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


def _pages(client: Any, url: str) -> list[dict[str, Any]]:
    """Every page, following the Link headers (each page's next_cursor is in its Link)."""
    pages = []
    while len(pages) < 100:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        link = response.headers.get("link")
        assert body["truncated"] == (body["next_cursor"] is not None) == (link is not None)
        if link is None:
            return pages
        assert link.endswith('>; rel="next"'), link
        url = link.split(">")[0].lstrip("<")
        assert url.endswith(f"cursor={body['next_cursor']}"), url
    raise AssertionError("the pages do not end")


def test_at_most_limit_items_then_the_next_page(client: Any, scenario: Scenario) -> None:
    body = _changes(client, "since=2026-01-06&limit=4")
    assert (body["truncated"], _seen(scenario, body)) == (True, QUARTER[:4])
    for limit in (1, 2, 4, 12, 13):
        pages = _pages(client, f"/api/v1/changes?since=2026-01-06&limit={limit}")
        assert [len(page["items"]) for page in pages[:-1]] == [limit] * (len(pages) - 1)
        seen = [change for page in pages for change in _seen(scenario, page)]
        assert seen == QUARTER, limit
        assert [item for page in pages for item in page["items"]] == _changes(
            client, "since=2026-01-06"
        )["items"]


def test_a_cursor_keeps_its_window_and_filters(
    client: Any, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _changes(client, "limit=3")  # the 90 days to today (TODAY)
    assert (first["since"], first["until"]) == ("2025-12-02", str(TODAY))
    cursor = first["next_cursor"]
    with clock_at(monkeypatch) as set_now:
        set_now(at(date(2026, 3, 5)))  # "today" moves on: the cursor's window does not
        second = _changes(client, f"cursor={cursor}&limit=3")
        assert (second["since"], second["until"]) == ("2025-12-02", str(TODAY))
        again = _changes(client, f"cursor={cursor}&limit=3&since=2025-12-02&until={TODAY}")
        assert again == second
        assert _seen(scenario, first) + _seen(scenario, second) == QUARTER[:6]
        for other in ("since=2026-01-06", "until=2026-03-01", f"owner_id={scenario.owners[0]}"):
            problem = assert_problem(client.get(f"/api/v1/changes?cursor={cursor}&{other}"), 422)
            assert problem["errors"][0]["field"] == "cursor", other


def _token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("nonsense", "not a cursor this service made"),
        (_token({"s": "id", "k": None, "i": 1, "a": "2026-01-01", "f": "x"}), "action list"),
        (_token({"e": 1}), "event feed"),
        (_token({"c": "2026-01-10T10:00:00+00:00", "o": 2, "i": 1, "w": ["2026-01-06",
                 "2026-03-02"], "f": "F"}), "position is malformed"),
        (_token({"c": "2026-01-10T10:00:00+00:00", "o": 0, "i": 0, "w": ["2026-01-06",
                 "2026-03-02"], "f": "F"}), "position is malformed"),
        (_token({"c": "2026-01-10", "o": 0, "i": 1, "w": ["2026-01-06", "2026-03-02"],
                 "f": "F"}), "position is malformed"),
        (_token({"c": "2026-01-10T10:00:00+00:00", "o": 0, "i": 1, "w": ["2026-03-06",
                 "2026-03-02"], "f": "F"}), "window is malformed"),
        (_token({"c": "2025-01-10T10:00:00+00:00", "o": 0, "i": 1, "w": ["2026-01-06",
                 "2026-03-02"], "f": "F"}), "not in its window"),
        (_token({"c": "2026-01-10T10:00:00+00:00", "o": 0, "i": 1, "w": ["2024-01-06",
                 "2026-03-02"], "f": "F"}), "window is malformed"),
    ],
)  # fmt: skip
def test_a_bad_cursor_is_a_422_naming_it(client: Any, cursor: str, message: str) -> None:
    from app.schemas.filters import ActionFilters
    from app.services.cursors import filters_fingerprint

    if cursor != "nonsense":  # "F": the fingerprint of no filters, the request's
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if payload.get("f") == "F":
            cursor = _token({**payload, "f": filters_fingerprint(ActionFilters())})
    problem = assert_problem(client.get(f"/api/v1/changes?cursor={quote(cursor)}"), 422)
    assert problem["errors"][0]["field"] == "cursor", problem
    assert message in problem["detail"], problem


def test_changes_at_one_moment_page_in_a_stable_order(
    client: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the midnight several actions become overdue, two of them also move: the events of
    that moment come first (by id), then the actions newly overdue (by id), on every page."""
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text

    with clock_at(monkeypatch) as set_now:
        set_now(at(SEED_DAY, 9))
        with SessionLocal.begin() as session:
            import_text(session=session, raw=seed_text, metadata={}, actor=system("tests"))
        ids = sorted(item["id"] for item in _changes_items(client))[:4]
        set_now(at(date(2026, 1, 6)))
        for action_id in reversed(ids):
            patched = client.patch(f"/api/v1/actions/{action_id}", json={"due_date": "2026-01-20"})
            assert patched.status_code == 200, patched.text
        set_now(datetime(2026, 1, 21, tzinfo=UTC))  # the end of 20 January in London
        for action_id in (ids[2], ids[0]):
            assert move(client, action_id, "in_progress").status_code == 200
        set_now(at(TODAY))
        whole = _changes(client, "since=2026-01-06&until=2026-01-31")["items"]
        assert [(item["kind"], item["action_id"]) for item in whole] == [
            ("status_changed", ids[2]),
            ("status_changed", ids[0]),
            *(("newly_overdue", action_id) for action_id in ids),
        ]
        assert {item["at"] for item in whole} == {"2026-01-21T00:00:00Z"}
        for limit in (1, 2, 3, 5):
            pages = _pages(
                client, f"/api/v1/changes?since=2026-01-06&until=2026-01-31&limit={limit}"
            )
            assert [item for page in pages for item in page["items"]] == whole, limit


def _changes_items(client: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/actions?limit=500")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-02-01&until=2026-01-01", "since"),
        ("since=2024-01-01&until=2026-01-01", "since"),
        ("since=2026-01-01&overdue=true", "overdue"),
        ("since=2026-01-01&as_of=2026-01-01", "as_of"),
        ("since=2026-01-01&limit=0", "limit"),
        ("since=2026-01-01&limit=5001", "limit"),
        ("since=yesterday", "since"),
    ],
)
def test_absurd_requests_are_refused(client: Any, query: str, field: str) -> None:
    body = assert_problem(client.get(f"/api/v1/changes?{query}"), 422)
    assert field in {error["field"] for error in body["errors"]}, body
