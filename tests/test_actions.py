from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Action, ActionEvent
from tests.helpers import as_actor, assert_problem, first_action, move


def _history(client: TestClient, action_id: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get(f"/api/v1/actions/{action_id}/history").json()[
        "items"
    ]
    return items


def test_get_action_has_context_and_etag(client: TestClient, seeded: int) -> None:
    action = first_action(client)
    response = client.get(f"/api/v1/actions/{action['id']}")
    assert response.status_code == 200
    body = response.json()
    assert response.headers["etag"] == f'"{body["id"]}-{body["version"]}"'
    assert (body["force"], body["year"], body["pillar"]) == ("Cumbria", "2015", "Effectiveness")
    assert body["question"].startswith("How effective is the force at preventing crime")
    assert body["priority"] == "medium" and body["status"] == "open"
    assert body["is_overdue"] is False and body["days_overdue"] == 0
    assert_problem(client.get("/api/v1/actions/99999"), 404)


def test_patch_changes_fields_and_records_old_and_new(client: TestClient, seeded: int) -> None:
    action = first_action(client)
    owner = client.post("/api/v1/owners", json={"name": "DCI Smith"}).json()
    response = client.patch(
        f"/api/v1/actions/{action['id']}",
        json={
            "owner_id": owner["id"],
            "due_date": "2027-03-31",
            "priority": "high",
            "progress_note": "Scoping done",
        },
        headers=as_actor("analyst@force", "editor"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["owner"]["name"] == "DCI Smith" and body["due_date"] == "2027-03-31"
    assert body["version"] == action["version"] + 1
    events = _history(client, action["id"])
    assert [e["kind"] for e in events] == ["created", "assigned", "progress_updated", "updated"]
    assert events[1]["changes"] == {"owner_id": [None, owner["id"]]}
    assert events[2]["changes"] == {
        "progress_note": [None, "Scoping done"],
        "last_progress_at": [None, events[2]["changes"]["last_progress_at"][1]],
    }
    assert events[3]["changes"] == {
        "due_date": [None, "2027-03-31"],
        "priority": ["medium", "high"],
    }
    assert {e["actor"] for e in events[1:]} == {"analyst@force"}

    cleared = client.patch(f"/api/v1/actions/{action['id']}", json={"owner_id": None}).json()
    assert cleared["owner"] is None
    assert _history(client, action["id"])[-1]["kind"] == "unassigned"


def test_patch_rejects_bad_input(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    url = f"/api/v1/actions/{action_id}"
    # Refused by request validation or by the service's own checks (a null title, an unknown
    # owner): either way the problem names the field in `errors`.
    for change in (
        {"status": "completed"},
        {"priority": "urgent"},
        {"due_date": "31/03/2027"},
        {"title": ""},
        {"title": None},
        {"owner_id": 424242},
    ):
        body = assert_problem(client.patch(url, json=change), 422)
        assert [(error["field"], error["in"]) for error in body["errors"]] == [(*change, "body")], (
            change
        )
    assert_problem(client.patch(url, json=["not", "an", "object"]), 422)
    body = assert_problem(
        client.patch(url, content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
    )
    assert body["title"] == "Malformed JSON"
    assert_problem(client.patch("/api/v1/actions/424242", json={"title": "x"}), 404)
    assert client.get(url).json()["version"] == 1


def test_if_match_guards_against_lost_updates(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    etag = client.get(f"/api/v1/actions/{action_id}").headers["etag"]
    first = client.patch(
        f"/api/v1/actions/{action_id}", json={"title": "Mine"}, headers={"If-Match": etag}
    )
    assert first.status_code == 200
    assert first.headers["etag"] != etag
    stale = client.patch(
        f"/api/v1/actions/{action_id}", json={"title": "Theirs"}, headers={"If-Match": etag}
    )
    body = assert_problem(stale, 412)
    assert body["current_etag"] == first.headers["etag"]
    stale_move = client.post(
        f"/api/v1/actions/{action_id}/transitions",
        json={"to": "in_progress"},
        headers={"If-Match": etag},
    )
    assert_problem(stale_move, 412)
    assert client.get(f"/api/v1/actions/{action_id}").json()["title"] == "Mine"
    fresh = client.patch(
        f"/api/v1/actions/{action_id}",
        json={"title": "Ours"},
        headers={"If-Match": first.headers["etag"]},
    )
    assert fresh.status_code == 200


def test_if_match_compares_strongly(client: TestClient, seeded: int) -> None:
    # RFC 9110: a weak tag never satisfies If-Match, even with the current value inside.
    action_id = first_action(client)["id"]
    url = f"/api/v1/actions/{action_id}"
    etag = client.get(url).headers["etag"]
    weak = client.patch(url, json={"title": "Weak"}, headers={"If-Match": f"W/{etag}"})
    assert assert_problem(weak, 412)["current_etag"] == etag
    listed = client.patch(url, json={"title": "Listed"}, headers={"If-Match": f'"x", {etag}'})
    assert listed.status_code == 200
    anything = client.patch(url, json={"title": "Any"}, headers={"If-Match": "*"})
    assert anything.status_code == 200
    assert client.get(url).json()["title"] == "Any"


def test_extra_action_for_a_finding_gets_a_suffixed_reference(
    client: TestClient, seeded: int
) -> None:
    action = first_action(client)
    response = client.post(
        "/api/v1/actions",
        json={"finding_id": action["finding_id"], "title": "Second strand", "priority": "low"},
    )
    assert response.status_code == 201, response.text
    extra = response.json()
    assert extra["reference"] == f"{action['reference']}-2"
    assert extra["title"] == "Second strand" and extra["priority"] == "low"
    assert extra["description"].startswith("The constabulary should")
    assert response.headers["location"].endswith(f"/api/v1/actions/{extra['id']}")
    assert [e["kind"] for e in _history(client, extra["id"])] == ["created"]
    assert_problem(client.post("/api/v1/actions", json={"finding_id": 99999}), 422)


def test_bulk_update_is_all_or_nothing(client: TestClient, seeded: int, session: Session) -> None:
    ids = [a["id"] for a in client.get("/api/v1/actions?limit=500").json()["items"]]
    owner = client.post("/api/v1/owners", json={"name": "Head of Crime"}).json()
    refused = client.post(
        "/api/v1/actions/bulk",
        json={"action_ids": [*ids, 99999], "set": {"owner_id": owner["id"]}},
    )
    assert assert_problem(refused, 404)["missing"] == [99999]
    assert session.scalar(select(func.count()).where(Action.owner_id.is_not(None))) == 0
    events_before = session.scalar(select(func.count(ActionEvent.id)))

    done = client.post(
        "/api/v1/actions/bulk",
        json={"action_ids": ids, "set": {"owner_id": owner["id"], "due_date": "2027-01-31"}},
    )
    assert done.status_code == 200, done.text
    items = done.json()["items"]
    assert len(items) == 17
    assert {(i["owner_id"], i["due_date"]) for i in items} == {(owner["id"], "2027-01-31")}
    session.expire_all()
    assert session.scalar(select(func.count(ActionEvent.id))) == (events_before or 0) + 2 * 17
    assert_problem(client.post("/api/v1/actions/bulk", json={"action_ids": [], "set": {}}), 422)
    assert_problem(
        client.post("/api/v1/actions/bulk", json={"action_ids": ids, "set": {"status": "x"}}), 422
    )


def test_comments_and_history_are_append_only(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    response = client.post(
        f"/api/v1/actions/{action_id}/comments",
        json={"comment": "Met the partnership board"},
        headers=as_actor("jo", "editor"),
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "comment" and response.json()["actor"] == "jo"
    assert_problem(client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": " "}), 422)
    move(client, action_id, "in_progress", comment=None)
    kinds = [e["kind"] for e in _history(client, action_id)]
    assert kinds == ["created", "comment", "transition"]
    assert _history(client, action_id)[-1]["actor"] == "test-admin"
    assert client.delete(f"/api/v1/actions/{action_id}/history").status_code == 405
    assert_problem(client.get("/api/v1/actions/99999/history"), 404)


def test_overdue_at_the_boundary_days(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    client.patch(f"/api/v1/actions/{action_id}", json={"due_date": "2027-01-10"})

    def read(as_of: date) -> dict[str, object]:
        body: dict[str, object] = client.get(
            f"/api/v1/actions/{action_id}?as_of={as_of.isoformat()}"
        ).json()
        return body

    assert read(date(2027, 1, 10))["is_overdue"] is False
    day_after = read(date(2027, 1, 11))
    assert day_after["is_overdue"] is True and day_after["days_overdue"] == 1
    assert read(date(2027, 2, 10))["days_overdue"] == 31
    move(client, action_id, "blocked", comment="Waiting for funding")
    assert read(date(2027, 1, 11))["is_overdue"] is True
    move(client, action_id, "in_progress")
    client.post(f"/api/v1/actions/{action_id}/evidence", json={"kind": "note", "text": "Done"})
    move(client, action_id, "pending_sign_off")
    assert read(date(2027, 1, 11))["is_overdue"] is False
    assert_problem(client.get(f"/api/v1/actions/{action_id}?as_of=tomorrow"), 422)


def test_today_comes_from_the_clock_in_the_configured_timezone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert clock.today() == date(2026, 7, 1)  # Europe/London is UTC+1 in summer
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert clock.today() == date(2026, 12, 31)
