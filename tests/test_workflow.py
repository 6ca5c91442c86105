from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.enums import ActionStatus as S
from app.models import Action
from app.services.workflow import ALLOWED
from tests.helpers import add_note, assert_problem, first_action, move

EXPECTED_ALLOWED = {
    ("open", "in_progress"), ("open", "blocked"), ("open", "superseded"), ("open", "withdrawn"),
    ("in_progress", "blocked"), ("in_progress", "pending_sign_off"), ("in_progress", "open"),
    ("in_progress", "superseded"), ("in_progress", "withdrawn"),
    ("blocked", "in_progress"), ("blocked", "open"), ("blocked", "superseded"),
    ("blocked", "withdrawn"),
    ("pending_sign_off", "completed"), ("pending_sign_off", "in_progress"),
    ("completed", "in_progress"),
    ("superseded", "open"), ("withdrawn", "open"),
}  # fmt: skip


def _set_status(session: Session, action_id: int, status: str) -> None:
    action = session.get(Action, action_id)
    assert action is not None
    action.status = status
    session.commit()


def test_the_table_in_code_is_the_documented_one() -> None:
    in_code = {(str(a), str(b)) for a, targets in ALLOWED.items() for b in targets}
    assert in_code == EXPECTED_ALLOWED


@pytest.mark.parametrize(("current", "to"), list(itertools.product(list(S), list(S))))
def test_every_transition_is_allowed_or_refused_as_documented(
    client: TestClient, seeded: int, session: Session, current: S, to: S
) -> None:
    action_id = first_action(client)["id"]
    add_note(client, action_id)
    _set_status(session, action_id, current)
    response = move(client, action_id, to, comment="Reason given")
    if (current, to) in EXPECTED_ALLOWED:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == to
        assert (body["closed_at"] is not None) == (to in ("completed", "superseded", "withdrawn"))
    else:
        problem = assert_problem(response, 409)
        assert problem["current_status"] == current
        assert problem["allowed"] == [str(s) for s in ALLOWED[current]]
        assert current in problem["detail"]
        assert client.get(f"/api/v1/actions/{action_id}").json()["status"] == current


@pytest.mark.parametrize(
    ("current", "to"),
    [
        ("open", "blocked"),
        ("open", "superseded"),
        ("in_progress", "withdrawn"),
        ("pending_sign_off", "in_progress"),
        ("completed", "in_progress"),
    ],
)
def test_steps_that_need_a_comment(
    client: TestClient, seeded: int, session: Session, current: str, to: str
) -> None:
    action_id = first_action(client)["id"]
    _set_status(session, action_id, current)
    body = assert_problem(move(client, action_id, to, comment=None), 422)
    assert "comment" in body["detail"]
    assert [error["field"] for error in body["errors"]] == ["comment"]
    assert_problem(move(client, action_id, to, comment="   "), 422)
    assert client.get(f"/api/v1/actions/{action_id}").json()["status"] == current
    assert move(client, action_id, to, comment="Because").status_code == 200


def test_comment_is_optional_elsewhere(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    assert move(client, action_id, "in_progress", comment=None).status_code == 200
    assert move(client, action_id, "open", comment=None).status_code == 200


def test_sign_off_needs_evidence_that_is_not_deleted(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    move(client, action_id, "in_progress")
    body = assert_problem(move(client, action_id, "pending_sign_off"), 409)
    assert "evidence" in body["detail"]
    add_note(client, action_id)
    assert move(client, action_id, "pending_sign_off").status_code == 200


def test_evidence_stays_while_sign_off_is_pending_and_is_checked_again_at_sign_off(
    client: TestClient, client_as: Callable[..., TestClient], seeded: int, session: Session
) -> None:
    from app.models import Evidence

    approver = client_as("approver")
    action_id = first_action(client)["id"]
    move(client, action_id, "in_progress")
    evidence_id = add_note(client, action_id)["id"]
    assert move(client, action_id, "pending_sign_off").status_code == 200
    refused = assert_problem(client.delete(f"/api/v1/evidence/{evidence_id}"), 409)
    assert refused["action_status"] == "pending_sign_off"
    # Evidence gone by another path (a row edited by hand, an older version of the service):
    # sign-off still refuses an action with none.
    evidence = session.get(Evidence, evidence_id)
    assert evidence is not None
    evidence.deleted_at = evidence.created_at
    session.commit()
    body = assert_problem(move(approver, action_id, "completed", comment="Fine"), 409)
    assert "no evidence" in body["detail"]
    assert client.get(f"/api/v1/actions/{action_id}").json()["status"] == "pending_sign_off"
    add_note(client, action_id)
    assert move(approver, action_id, "completed", comment="Fine").status_code == 200


def test_full_lifecycle_sets_and_clears_closed_at_and_records_every_step(
    client: TestClient, client_as: Callable[..., TestClient], seeded: int
) -> None:
    approver = client_as("approver")
    action_id = first_action(client)["id"]
    move(client, action_id, "in_progress", comment=None)
    add_note(client, action_id)
    move(client, action_id, "pending_sign_off", comment=None)
    refused = move(approver, action_id, "in_progress", comment="Evidence too thin")
    assert refused.json()["closed_at"] is None
    move(client, action_id, "pending_sign_off", comment=None)
    completed = move(approver, action_id, "completed", comment="Signed off by ACC").json()
    assert completed["closed_at"] is not None
    reopened = move(client, action_id, "in_progress", comment="Audit found gaps").json()
    assert reopened["closed_at"] is None

    events = client.get(f"/api/v1/actions/{action_id}/history").json()["items"]
    steps = [(e["kind"], e["changes"].get("status")) for e in events if "status" in e["changes"]]
    assert steps == [
        ("transition", ["open", "in_progress"]),
        ("transition", ["in_progress", "pending_sign_off"]),
        ("sign_off_refused", ["pending_sign_off", "in_progress"]),
        ("transition", ["in_progress", "pending_sign_off"]),
        ("signed_off", ["pending_sign_off", "completed"]),
        ("reopened", ["completed", "in_progress"]),
    ]
    assert [e["comment"] for e in events if e["kind"] == "reopened"] == ["Audit found gaps"]


def test_superseded_may_name_its_replacement(
    client: TestClient, seeded: int, session: Session
) -> None:
    first, second = client.get("/api/v1/actions?limit=2").json()["items"]
    response = move(
        client, first["id"], "superseded", comment="Merged", superseded_by_action_id=second["id"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["superseded_by_action_id"] == second["id"]
    reinstated = move(client, first["id"], "open", comment=None).json()
    assert reinstated["superseded_by_action_id"] is None and reinstated["closed_at"] is None

    assert_problem(
        move(client, first["id"], "superseded", superseded_by_action_id=first["id"]), 422
    )
    assert_problem(move(client, first["id"], "superseded", superseded_by_action_id=99999), 404)
    assert_problem(move(client, first["id"], "superseded", superseded_by_finding_id=99999), 404)
    assert_problem(move(client, first["id"], "blocked", superseded_by_action_id=second["id"]), 422)
    by_finding = move(
        client, first["id"], "superseded", superseded_by_finding_id=second["finding_id"]
    )
    assert by_finding.json()["superseded_by_finding_id"] == second["finding_id"]
    stored = session.scalars(select(Action).where(Action.id == first["id"])).one()
    assert stored.status == "superseded"


def test_bad_transition_bodies(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    url = f"/api/v1/actions/{action_id}/transitions"
    assert_problem(client.post(url, json={"to": "done"}), 422)
    assert_problem(client.post(url, json={}), 422)
    assert_problem(client.post(url, json={"to": "in_progress", "status": "x"}), 422)
    assert_problem(
        client.post(url, content=b"[", headers={"Content-Type": "application/json"}), 400
    )
    assert_problem(client.post("/api/v1/actions/99999/transitions", json={"to": "open"}), 404)
