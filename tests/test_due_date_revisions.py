"""Revised due dates: the first due date is kept as `original_due_date`; later changes are
revisions, with a reason, listed, counted and judged in the stats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.enums import ActionStatus, Role
from app.models import Action, Report
from app.settings import Settings, get_settings
from tests.helpers import as_actor, assert_problem, first_action


def _patch(client: TestClient, action_id: int, **fields: Any) -> Any:
    return client.patch(f"/api/v1/actions/{action_id}", json=fields)


def _revisions(client: TestClient, action_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/actions/{action_id}/due-date-revisions")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _kinds(client: TestClient, action_id: int) -> list[str]:
    items = client.get(f"/api/v1/actions/{action_id}/history").json()["items"]
    return [item["kind"] for item in items]


def test_the_first_due_date_is_the_original_and_needs_no_reason(
    client: TestClient, seeded: int
) -> None:
    action = first_action(client)
    assert action["due_date"] is None and action["original_due_date"] is None
    body = _patch(client, action["id"], due_date="2030-03-31").json()
    assert body["original_due_date"] == "2030-03-31" == body["due_date"]
    assert body["due_date_revisions"] == 0
    assert _revisions(client, action["id"]) == []
    # Sent again unchanged: not a revision, no reason needed.
    assert _patch(client, action["id"], due_date="2030-03-31").status_code == 200

    created = client.post(
        "/api/v1/actions", json={"finding_id": action["finding_id"], "due_date": "2030-06-30"}
    ).json()
    assert created["original_due_date"] == "2030-06-30"
    undated = client.post("/api/v1/actions", json={"finding_id": action["finding_id"]}).json()
    assert undated["original_due_date"] is None


def test_a_revision_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, seeded: int
) -> None:
    action_id = first_action(client)["id"]
    _patch(client, action_id, due_date="2030-03-31")
    for change in ({"due_date": "2030-09-30"}, {"due_date": None}):
        body = assert_problem(_patch(client, action_id, **change), 422)
        assert body["field"] == "due_date_reason"
        assert [error["field"] for error in body["errors"]] == ["due_date_reason"]
    blank = _patch(client, action_id, due_date="2030-09-30", due_date_reason="  ")
    assert_problem(blank, 422)
    after = client.get(f"/api/v1/actions/{action_id}").json()
    assert after["due_date"] == "2030-03-31" and after["due_date_revisions"] == 0


def test_a_revision_with_a_reason_is_recorded_listed_and_counted(
    client: TestClient, seeded: int
) -> None:
    action_id = first_action(client)["id"]
    _patch(client, action_id, due_date="2030-03-31")
    editor = as_actor("planner@force", "editor")
    response = client.patch(
        f"/api/v1/actions/{action_id}",
        json={"due_date": "2030-09-30", "due_date_reason": "Waiting for the new IT system"},
        headers=editor,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["due_date"] == "2030-09-30" and body["original_due_date"] == "2030-03-31"
    assert body["due_date_revisions"] == 1
    # Cleared with a reason, then set again: every change after the first is a revision.
    _patch(client, action_id, due_date=None, due_date_reason="Replanning")
    final = _patch(client, action_id, due_date="2031-01-31", due_date_reason="Replanned").json()
    assert final["original_due_date"] == "2030-03-31"
    assert final["due_date_revisions"] == 3

    revisions = _revisions(client, action_id)
    assert [(r["from"], r["to"], r["reason"]) for r in revisions] == [
        ("2030-03-31", "2030-09-30", "Waiting for the new IT system"),
        ("2030-09-30", None, "Replanning"),
        (None, "2031-01-31", "Replanned"),
    ]
    assert revisions[0]["actor"] == "planner@force" and revisions[0]["at"]
    assert _kinds(client, action_id).count("due_date_revised") == 3
    history = client.get(f"/api/v1/actions/{action_id}/history").json()["items"]
    revised = [event for event in history if event["kind"] == "due_date_revised"]
    assert revised[0]["changes"] == {"due_date": ["2030-03-31", "2030-09-30"]}
    assert revised[0]["comment"] == "Waiting for the new IT system"

    # The list counts them too, per row.
    listed = client.get("/api/v1/actions?limit=500").json()["items"]
    counts = {item["id"]: item["due_date_revisions"] for item in listed}
    assert counts[action_id] == 3
    assert sum(counts.values()) == 3


def test_other_fields_beside_a_revision_keep_their_own_event(
    client: TestClient, seeded: int
) -> None:
    action_id = first_action(client)["id"]
    _patch(client, action_id, due_date="2030-03-31")
    _patch(client, action_id, due_date="2030-04-30", due_date_reason="Later", priority="high")
    history = client.get(f"/api/v1/actions/{action_id}/history").json()["items"]
    assert [e["kind"] for e in history][-2:] == ["due_date_revised", "updated"]
    assert history[-1]["changes"] == {"priority": ["medium", "high"]}


def test_the_setting_can_reserve_revisions_to_approvers(
    client_as: Callable[..., TestClient], seeded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor, approver = client_as("editor"), client_as("approver")
    action_id = first_action(editor)["id"]
    monkeypatch.setattr(get_settings(), "due_date_revision_role", Role.APPROVER)
    # The first due date is not a revision: an editor may still set it.
    assert _patch(editor, action_id, due_date="2030-03-31").status_code == 200
    refused = _patch(editor, action_id, due_date="2030-05-31", due_date_reason="Slipped")
    assert_problem(refused, 403)
    assert _revisions(editor, action_id) == []
    allowed = _patch(approver, action_id, due_date="2030-05-31", due_date_reason="Slipped")
    assert allowed.status_code == 200, allowed.text
    assert len(_revisions(editor, action_id)) == 1


def test_the_setting_is_a_role() -> None:
    assert Settings().due_date_revision_role is Role.EDITOR
    assert Settings(due_date_revision_role="approver").due_date_revision_role is Role.APPROVER
    with pytest.raises(ValidationError):
        Settings(due_date_revision_role="boss")


def test_a_bulk_revision_needs_a_reason_too(client: TestClient, seeded: int) -> None:
    items = client.get("/api/v1/actions?limit=3").json()["items"]
    ids = [item["id"] for item in items]
    # The first due date of all three, then a revision of one of them among the others.
    first = client.post(
        "/api/v1/actions/bulk", json={"action_ids": ids, "set": {"due_date": "2030-03-31"}}
    )
    assert first.status_code == 200, first.text
    assert {item["original_due_date"] for item in first.json()["items"]} == {"2030-03-31"}
    unchanged = client.post(
        "/api/v1/actions/bulk", json={"action_ids": ids, "set": {"due_date": "2030-03-31"}}
    )
    assert unchanged.status_code == 200
    body = assert_problem(
        client.post(
            "/api/v1/actions/bulk", json={"action_ids": ids, "set": {"due_date": "2030-06-30"}}
        ),
        422,
    )
    assert body["field"] == "due_date_reason"
    assert {a["due_date"] for a in client.get("/api/v1/actions?limit=3").json()["items"]} == {
        "2030-03-31"
    }
    revised = client.post(
        "/api/v1/actions/bulk",
        json={"action_ids": ids, "set": {"due_date": "2030-06-30", "due_date_reason": "Audit"}},
    )
    assert revised.status_code == 200, revised.text
    for item in revised.json()["items"]:
        assert item["original_due_date"] == "2030-03-31" and item["due_date_revisions"] == 1
        assert _revisions(client, item["id"])[0]["reason"] == "Audit"


def test_revisions_of_an_unknown_action_are_404(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/actions/999999/due-date-revisions"), 404)


def test_stats_count_completion_on_time_against_the_original_and_the_revised_date(
    client: TestClient, seeded: int, session: Session
) -> None:
    actions = client.get("/api/v1/actions?limit=4").json()["items"]
    ids = [item["id"] for item in actions]
    for action_id in ids:
        _patch(client, action_id, due_date="2030-03-31")
    # Put back to June: closed in May it is late against the original, on time as revised.
    for action_id in ids[:2]:
        _patch(client, action_id, due_date="2030-06-30", due_date_reason="Slipped")
    closed = {
        ids[0]: datetime(2030, 5, 15, 12, tzinfo=UTC),  # late / on time
        ids[1]: datetime(2030, 7, 1, 0, 30, tzinfo=UTC),  # late / late
        ids[2]: datetime(2030, 3, 31, 23, 59, tzinfo=UTC),  # on the day: on time / on time
        ids[3]: datetime(2030, 4, 1, 0, 0, tzinfo=UTC),  # a day late / a day late
    }
    for action in session.scalars(select(Action).where(Action.id.in_(ids))):
        action.status = ActionStatus.COMPLETED
        action.closed_at = closed[action.id]
    session.commit()

    body = client.get("/api/v1/stats?group_by=status").json()
    completed = next(group for group in body["groups"] if group["key"] == "completed")
    assert completed["counts"]["completed"] == 4
    assert completed["completed_on_time_original"] == 1
    assert completed["completed_on_time_revised"] == 2
    others = [group for group in body["groups"] if group["key"] != "completed"]
    assert all(group["completed_on_time_original"] == 0 for group in others)
    assert body["totals"]["completed_on_time_original"] == 1
    assert body["totals"]["completed_on_time_revised"] == 2
    # Per force too (counted per report, then added up).
    force = session.scalar(select(Report.force).where(Report.id == seeded))
    by_force = client.get("/api/v1/stats?group_by=force").json()["groups"]
    (group,) = [g for g in by_force if g["key"] == force]
    assert (group["completed_on_time_original"], group["completed_on_time_revised"]) == (1, 2)


def test_the_openapi_shows_event_kinds_and_the_revisions_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["EventOut"]["properties"]["kind"] == {"$ref": "#/components/schemas/EventKind"}
    kinds = set(schemas["EventKind"]["enum"])
    assert {"created", "due_date_revised", "progress_updated", "signed_off"} <= kinds
    assert "due_date_reason" in schemas["ActionUpdate"]["properties"]
    assert "due_date_reason" in schemas["BulkFields"]["properties"]
    assert {"original_due_date", "due_date_revisions"} <= schemas["ActionOut"]["properties"].keys()
    revision = schemas["DueDateRevisionOut"]["properties"]
    assert {"from", "to", "reason", "actor", "at"} <= revision.keys()
    assert "get" in spec["paths"]["/api/v1/actions/{action_id}/due-date-revisions"]


def test_first_due_date_day_is_kept_as_a_date(
    session: Session, client: TestClient, seeded: int
) -> None:
    action_id = first_action(client)["id"]
    _patch(client, action_id, due_date="2030-03-31")
    stored = session.get(Action, action_id)
    assert stored is not None and stored.original_due_date == date(2030, 3, 31)
