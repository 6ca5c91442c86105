"""Issue 16: every change writes exactly its public events, in its own transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import add_note, assert_problem, move


def outbox() -> list[dict[str, Any]]:
    """Every outbox event so far, oldest first, as (type, payload, filter columns)."""
    from app.db import SessionLocal
    from app.models import OutboxEvent

    with SessionLocal() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        return [
            {
                "id": row.id,
                "type": row.type,
                "action_id": row.action_id,
                "report_id": row.report_id,
                "owner_id": row.owner_id,
                "payload": row.payload,
            }
            for row in rows
        ]


def since(mark: int) -> list[dict[str, Any]]:
    return [event for event in outbox() if event["id"] > mark]


def last_id() -> int:
    events = outbox()
    return events[-1]["id"] if events else 0


def big_report(findings: int, force: str = "Kent") -> str:
    lines = [f"{force} PEEL 2017", "Effectiveness"]
    for number in range(1, findings + 1):
        if number % 5 == 1:
            lines += [f"How effective is the force at question {number}?", "Some text."]
            lines.append("Areas for improvement")
        lines.append(f"- The force should improve thing number {number} of {force} quickly.")
    return "\n".join(lines) + "\n"


def test_an_import_writes_report_imported_once_and_action_created_for_each_action(
    client: TestClient, seeded: int
) -> None:
    events = outbox()
    actions = client.get("/api/v1/actions?limit=500").json()["items"]
    created = [e for e in events if e["type"] == "action.created"]
    imported = [e for e in events if e["type"] == "report.imported"]
    assert len(events) == len(actions) + 1
    assert sorted(e["action_id"] for e in created) == sorted(a["id"] for a in actions)
    assert len(imported) == 1
    envelope = imported[0]["payload"]
    assert envelope.keys() == {"type", "timestamp", "data"}
    assert envelope["type"] == "report.imported"
    assert envelope["timestamp"].endswith("Z")
    assert envelope["data"]["report_id"] == seeded
    assert envelope["data"]["created"] is True
    assert envelope["data"]["findings_added"] == len(actions)
    first = next(a for a in actions if a["id"] == created[0]["action_id"])
    data = created[0]["payload"]["data"]
    assert data["reference"] == first["reference"]
    assert data["report_id"] == seeded and created[0]["report_id"] == seeded
    assert data["actor"] == "tests"


def test_importing_the_same_text_again_writes_no_event(client: TestClient, seeded: int) -> None:
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text
    from tests.conftest import SEED

    mark = last_id()
    with SessionLocal.begin() as session:
        import_text(
            session=session, raw=SEED.read_text(encoding="utf-8"), metadata={}, actor=system("x")
        )
    assert since(mark) == []


def test_each_change_of_an_action_writes_exactly_its_event(
    client: TestClient, action_id: int
) -> None:
    owner = client.post("/api/v1/owners", json={"name": "Supt Jones"}).json()["id"]
    mark = last_id()
    url = f"/api/v1/actions/{action_id}"

    assert client.patch(url, json={"owner_id": owner}).status_code == 200
    assert client.patch(url, json={"due_date": "2027-03-31"}).status_code == 200
    revised = {"due_date": "2027-06-30", "due_date_reason": "Funding moved"}
    assert client.patch(url, json=revised).status_code == 200
    # No public event: other fields and progress.
    assert client.patch(url, json={"title": "A new title", "priority": "high"}).status_code == 200
    assert client.patch(url, json={"progress_note": "Half done", "rag": "amber"}).status_code == 200
    assert move(client, action_id, "in_progress").status_code == 200
    evidence = add_note(client, action_id)
    assert client.post(f"{url}/comments", json={"comment": "Looks good"}).status_code == 201
    assert client.delete(f"/api/v1/evidence/{evidence['id']}").status_code == 204
    assert client.patch(url, json={"owner_id": None}).status_code == 200

    events = since(mark)
    assert [e["type"] for e in events] == [
        "action.owner_changed",
        "action.due_date_changed",
        "action.due_date_changed",
        "action.status_changed",
        "action.evidence_added",
        "action.comment_added",
        "action.evidence_removed",
        "action.owner_changed",
    ]
    data = [e["payload"]["data"] for e in events]
    assert {e["action_id"] for e in events} == {action_id}
    assert (data[0]["from"], data[0]["to"], data[0]["owner_id"]) == (None, owner, owner)
    assert (data[1]["from"], data[1]["to"], data[1]["reason"]) == (None, "2027-03-31", None)
    assert (data[2]["from"], data[2]["to"]) == ("2027-03-31", "2027-06-30")
    assert data[2]["reason"] == "Funding moved"
    assert (data[3]["from"], data[3]["to"]) == ("open", "in_progress")
    assert data[4]["evidence"]["evidence_id"] == evidence["id"]
    assert data[5]["comment"] == "Looks good"
    assert data[6]["evidence"]["evidence_id"] == evidence["id"]
    assert (data[7]["from"], data[7]["to"], events[7]["owner_id"]) == (owner, None, None)
    assert data[0]["actor"] == "test-admin" and data[0]["user"] == "test-admin"


def test_a_refused_change_writes_no_event(client: TestClient, action_id: int) -> None:
    mark = last_id()
    assert_problem(move(client, action_id, "completed"), 409)
    assert_problem(client.patch(f"/api/v1/actions/{action_id}", json={"owner_id": 999}), 422)
    assert since(mark) == []


def test_sign_off_and_an_extra_action_write_their_events(
    client: TestClient, client_as: Any, action_id: int
) -> None:
    add_note(client, action_id)
    assert move(client, action_id, "in_progress").status_code == 200
    assert move(client, action_id, "pending_sign_off").status_code == 200
    mark = last_id()
    approver = client_as("approver", user="ann")
    assert move(approver, action_id, "completed", comment="Verified").status_code == 200
    finding = client.get(f"/api/v1/actions/{action_id}").json()["finding_id"]
    extra = client.post("/api/v1/actions", json={"finding_id": finding, "title": "More"}).json()
    events = since(mark)
    assert [e["type"] for e in events] == ["action.status_changed", "action.created"]
    assert events[0]["payload"]["data"]["to"] == "completed"
    assert events[0]["payload"]["data"]["comment"] == "Verified"
    assert events[0]["payload"]["data"]["user"] == "ann"
    assert events[1]["action_id"] == extra["id"]


def test_a_bulk_update_writes_one_event_per_action(client: TestClient, seeded: int) -> None:
    owner = client.post("/api/v1/owners", json={"name": "Ch Insp Lee"}).json()["id"]
    ids = [a["id"] for a in client.get("/api/v1/actions?limit=3").json()["items"]]
    mark = last_id()
    response = client.post(
        "/api/v1/actions/bulk", json={"action_ids": ids, "set": {"owner_id": owner}}
    )
    assert response.status_code == 200, response.text
    events = since(mark)
    assert [e["type"] for e in events] == ["action.owner_changed"] * 3
    assert sorted(e["action_id"] for e in events) == sorted(ids)


def test_a_large_import_writes_its_events_in_batches(
    client: TestClient, monkeypatch: Any, data_dir: Path
) -> None:
    """2,500 findings: more than one batch of the outbox's INSERTs and IN lists."""
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_import_findings", 3000)
    mark = last_id()
    response = client.post(
        "/api/v1/reports", content=big_report(2500), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201, response.text
    events = since(mark)
    created = [e for e in events if e["type"] == "action.created"]
    assert len(created) == 2500 and len({e["action_id"] for e in created}) == 2500
    assert [e["type"] for e in events].count("report.imported") == 1
    references = {e["payload"]["data"]["reference"] for e in created}
    assert len(references) == 2500

    # A re-import that rewords a finding and drops one: one report.imported, no action events.
    mark = last_id()
    edited = big_report(2499).replace("number 7 of", "number seven of")
    response = client.post(
        "/api/v1/reports", content=edited, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    events = since(mark)
    assert [e["type"] for e in events] == ["report.imported"]
    data = events[0]["payload"]["data"]
    assert (data["created"], data["findings_withdrawn"]) == (False, 1)
