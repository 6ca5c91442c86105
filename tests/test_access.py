"""Every route and method × every kind of caller, with the exact status each gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.enums import Role
from app.main import create_app
from app.models import Action, ActionEvent, ApiToken, Evidence
from app.services.tokens import create_token, revoke_token
from tests.conftest import make_token
from tests.helpers import add_note, assert_problem, move

SMALL_REPORT = "Kent PEEL 2017\nIs it good?\nAreas for improvement\n- The force should act.\n"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    needs: Role
    ok: int
    body: dict[str, Any] | None = None
    content: bytes | None = None
    files: dict[str, Any] | None = None

    def call(self, client: TestClient, ids: dict[str, int]) -> Any:
        kwargs: dict[str, Any] = {}
        if self.body is not None:
            kwargs["json"] = {key: _resolve(value, ids) for key, value in self.body.items()}
        if self.content is not None:
            kwargs["content"] = self.content
            kwargs["headers"] = {"Content-Type": "text/plain"}
        if self.files is not None:
            kwargs["files"] = self.files
        return client.request(self.method, self.path.format(**ids), **kwargs)


def _resolve(value: Any, ids: dict[str, int]) -> Any:
    """Placeholders such as "finding" in a body become the id set up for the test."""
    if isinstance(value, list):
        return [_resolve(item, ids) for item in value]
    return ids.get(value, value) if isinstance(value, str) else value


V, E, A, ADM = Role.VIEWER, Role.EDITOR, Role.APPROVER, Role.ADMIN
CASES = [
    Case("GET", "/api/v1/reports", V, 200),
    Case("POST", "/api/v1/reports", ADM, 201, content=SMALL_REPORT.encode()),
    Case("POST", "/api/v1/reports/files", ADM, 201,
         files={"file": ("r.txt", SMALL_REPORT.replace("Kent", "Essex").encode())}),
    Case("GET", "/api/v1/reports/{report}", V, 200),
    Case("GET", "/api/v1/findings/{finding}", V, 200),
    Case("GET", "/api/v1/actions", V, 200),
    Case("GET", "/api/v1/actions.csv", V, 200),
    Case("GET", "/api/v1/stats", V, 200),
    Case("GET", "/api/v1/stats/trend", V, 200),
    Case("GET", "/api/v1/changes", V, 200),
    Case("GET", "/api/v1/actions/overdue-summary", V, 200),
    Case("GET", "/api/v1/calendar.ics", V, 200),
    Case("GET", "/api/v1/pack.xlsx", V, 200),
    Case("GET", "/api/v1/pack.html", V, 200),
    Case("POST", "/api/v1/actions", E, 201, body={"finding_id": "finding"}),
    Case("POST", "/api/v1/actions/bulk", E, 200,
         body={"action_ids": ["action"], "set": {"priority": "high"}}),
    Case("GET", "/api/v1/actions/{action}", V, 200),
    Case("PATCH", "/api/v1/actions/{action}", E, 200, body={"priority": "low"}),
    Case("POST", "/api/v1/actions/{action}/transitions", E, 200, body={"to": "in_progress"}),
    Case("POST", "/api/v1/actions/{pending}/transitions", A, 200, body={"to": "completed"}),
    Case("GET", "/api/v1/actions/{action}/history", V, 200),
    Case("GET", "/api/v1/actions/{action}/due-date-revisions", V, 200),
    Case("POST", "/api/v1/actions/{action}/comments", E, 201, body={"comment": "Noted"}),
    Case("GET", "/api/v1/actions/{action}/evidence", V, 200),
    Case("POST", "/api/v1/actions/{action}/evidence", E, 201, body={"kind": "note", "text": "x"}),
    Case("POST", "/api/v1/actions/{action}/evidence/files", E, 201,
         files={"file": ("a.txt", b"x")}),
    Case("GET", "/api/v1/evidence/{evidence}", V, 200),
    Case("GET", "/api/v1/evidence/{evidence}/content", V, 200),
    Case("DELETE", "/api/v1/evidence/{evidence}", ADM, 204),
    Case("GET", "/api/v1/owners", V, 200),
    Case("POST", "/api/v1/owners", E, 201, body={"name": "New owner"}),
    Case("GET", "/api/v1/owners/{owner}", V, 200),
    Case("PATCH", "/api/v1/owners/{owner}", E, 200, body={"team": "Crime"}),
    Case("DELETE", "/api/v1/owners/{owner}", E, 204),
    Case("GET", "/api/v1/tokens", ADM, 200),
    Case("POST", "/api/v1/tokens", ADM, 201, body={"name": "ci", "role": "viewer"}),
    Case("GET", "/api/v1/tokens/{token}", ADM, 200),
    Case("DELETE", "/api/v1/tokens/{token}", ADM, 204),
    Case("GET", "/api/v1/events", V, 200),
    Case("GET", "/api/v1/webhooks", ADM, 200),
    Case("POST", "/api/v1/webhooks", ADM, 201,
         body={"url": "https://93.184.216.34/hook", "events": ["action.created"]}),
    Case("GET", "/api/v1/webhooks/{webhook}", ADM, 200),
    Case("DELETE", "/api/v1/webhooks/{webhook}", ADM, 204),
    Case("POST", "/api/v1/webhooks/{webhook}/enable", ADM, 200),
    Case("GET", "/api/v1/webhooks/{webhook}/deliveries", ADM, 200),
    Case("POST", "/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver", ADM, 202),
]  # fmt: skip
CALLERS = ["none", "revoked", "expired", "viewer", "editor", "approver", "admin"]


def test_the_table_covers_every_route_and_method() -> None:
    in_app = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    covered = {(case.method, case.path.replace("{pending}", "{action}")) for case in CASES}
    normalised = {
        (method, path.replace("{report_id}", "{report}").replace("{finding_id}", "{finding}")
         .replace("{action_id}", "{action}").replace("{evidence_id}", "{evidence}")
         .replace("{owner_id}", "{owner}").replace("{token_id}", "{token}")
         .replace("{webhook_id}", "{webhook}").replace("{delivery_id}", "{delivery}"))
        for method, path in in_app
    }  # fmt: skip
    assert normalised == covered


@pytest.fixture
def ids(seeded: int, session: Session) -> dict[str, int]:
    """One of everything the routes name, set up directly (no HTTP, so no auth involved)."""
    from app.models import Finding, Owner
    from app.principal import system
    from app.schemas.evidence import NoteIn
    from app.services import evidence, storage

    first, pending = session.scalars(select(Action).order_by(Action.id).limit(2)).all()
    now = clock.utcnow()
    owner = Owner(name="Unused owner", created_at=now, updated_at=now)
    session.add(owner)
    writer = storage.BlobWriter()
    writer.write(b"minutes")
    staged = writer.finish()
    file_evidence = evidence.add_file(
        session=session, action_id=first.id, blob=staged, file_name="m.txt",
        media_type="text/plain", description=None, actor=system("setup"),
    )  # fmt: skip
    evidence.add_note(
        session=session, action_id=pending.id, note=NoteIn(kind="note", text="done"),
        actor=system("setup"),
    )  # fmt: skip
    pending.status = "pending_sign_off"
    token, _secret = create_token(session=session, name="to-manage", role=Role.VIEWER)
    webhook, delivery = _webhook_and_delivery(session)
    session.commit()
    finding = session.scalars(select(Finding.id).order_by(Finding.id)).first()
    assert finding is not None
    return {
        "report": seeded,
        "finding": finding,
        "action": first.id,
        "pending": pending.id,
        "evidence": file_evidence.id,
        "owner": owner.id,
        "token": token.id,
        "webhook": webhook,
        "delivery": delivery,
    }


def _webhook_and_delivery(session: Session) -> tuple[int, int]:
    """A webhook with a (finished) delivery of the first event."""
    from app.models import OutboxEvent, Webhook, WebhookDelivery

    now = clock.utcnow()
    event = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id).limit(1)).one()
    webhook = Webhook(
        url="https://93.184.216.34/hook", secret="whsec_c2VjcmV0", events=["action.created"],
        created_at=now, created_by="setup",
    )  # fmt: skip
    session.add(webhook)
    session.flush()
    delivery = WebhookDelivery(
        webhook_id=webhook.id, event_id=event.id, status="succeeded", attempts=1,
        retry_started_at=now, created_at=now, delivered_at=now,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    return webhook.id, delivery.id


def _client_for(caller: str, app: Any, session: Session) -> TestClient:
    headers: dict[str, str] = {}
    if caller in Role.__members__.values() or caller in [r.value for r in Role]:
        headers["Authorization"] = f"Bearer {make_token(caller)}"
    elif caller == "revoked":
        secret = make_token("admin", name="revoked-admin")
        revoke_token(session=session, name="revoked-admin")
        session.commit()
        headers["Authorization"] = f"Bearer {secret}"
    elif caller == "expired":
        token, secret = create_token(
            session=session, name="expired-admin", role=Role.ADMIN, expires_in_days=1
        )
        token.expires_at = clock.utcnow() - timedelta(seconds=1)
        session.commit()
        headers["Authorization"] = f"Bearer {secret}"
    return TestClient(app, raise_server_exceptions=False, headers=headers)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_route_answers_exactly_by_role(
    case: Case, caller: str, ids: dict[str, int], app: Any, session: Session
) -> None:
    client = _client_for(caller, app, session)
    response = case.call(client, ids)
    if caller in ("none", "revoked", "expired"):
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert (
            "token" not in body.get("detail", "").lower()
            or caller == "none"
            or (body["detail"] == "The token is not valid.")
        )
    elif not Role(caller).includes(case.needs):
        assert_problem(response, 403)
    else:
        assert response.status_code == case.ok, response.text


def test_refused_writes_change_nothing(ids: dict[str, int], app: Any, session: Session) -> None:
    events = session.scalar(select(func.count(ActionEvent.id)))
    viewer = _client_for("viewer", app, session)
    nobody = _client_for("none", app, session)
    for case in CASES:
        if case.method != "GET" and case.needs is not Role.VIEWER:
            assert case.call(viewer, ids).status_code == 403
            assert case.call(nobody, ids).status_code == 401
    session.expire_all()
    assert session.scalar(select(func.count(ActionEvent.id))) == events
    assert (
        session.scalar(select(func.count(Evidence.id)).where(Evidence.deleted_at.is_not(None))) == 0
    )
    assert session.get(Action, ids["pending"]).status == "pending_sign_off"  # type: ignore[union-attr]


def test_unknown_expired_and_revoked_tokens_get_the_same_answer(
    ids: dict[str, int], app: Any, session: Session
) -> None:
    answers = set()
    for caller in ("revoked", "expired"):
        response = _client_for(caller, app, session).get("/api/v1/reports")
        answers.add((response.status_code, response.text, response.headers["www-authenticate"]))
    stranger = TestClient(app, headers={"Authorization": "Bearer afi_not-a-real-token"})
    response = stranger.get("/api/v1/reports")
    answers.add((response.status_code, response.text, response.headers["www-authenticate"]))
    assert len(answers) == 1


def test_health_and_docs_need_no_token(anonymous: TestClient) -> None:
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200


def test_public_read_lets_anonymous_read_but_never_write(
    anonymous: TestClient, seeded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    assert_problem(anonymous.get("/api/v1/reports"), 401)
    monkeypatch.setattr(get_settings(), "public_read", True)
    assert anonymous.get("/api/v1/reports").status_code == 200
    assert anonymous.get("/api/v1/actions").status_code == 200
    assert_problem(anonymous.post("/api/v1/owners", json={"name": "x"}), 401)
    assert_problem(anonymous.get("/api/v1/tokens"), 401)


def test_tokens_are_stored_only_as_digests(client: TestClient, session: Session) -> None:
    created = client.post("/api/v1/tokens", json={"name": "ci-bot", "role": "viewer"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("afi_") and len(secret) > 40
    assert created.headers["cache-control"] == "no-store"
    stored = session.scalars(select(ApiToken).where(ApiToken.name == "ci-bot")).one()
    row = " ".join(str(getattr(stored, c.key)) for c in ApiToken.__table__.columns)
    assert secret not in row and secret[8:] not in row
    listing = client.get("/api/v1/tokens").text
    assert secret not in listing and 'token"' not in listing
    assert (
        client.get("/api/v1/reports", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    assert_problem(client.post("/api/v1/tokens", json={"name": "ci-bot", "role": "viewer"}), 409)
    assert_problem(client.post("/api/v1/tokens", json={"name": "x", "role": "god"}), 422)


def test_revoking_through_the_api_locks_the_token_out(client: TestClient) -> None:
    created = client.post("/api/v1/tokens", json={"name": "temp", "role": "editor"}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/actions", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert_problem(client.get("/api/v1/actions", headers=headers), 401)
    assert client.get(f"/api/v1/tokens/{created['id']}").json()["revoked_at"] is not None


def test_separation_of_duties_and_the_actor_in_history(
    client_as: Callable[..., TestClient], seeded: int, session: Session
) -> None:
    editor = client_as("editor", name="ed")
    approver = client_as("approver", name="ann")
    action_id = editor.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
    assert move(editor, action_id, "in_progress").status_code == 200
    add_note(editor, action_id, "Done")
    assert move(editor, action_id, "pending_sign_off").status_code == 200
    body = assert_problem(
        editor.post(f"/api/v1/actions/{action_id}/transitions", json={"to": "completed"}), 403
    )
    assert "approver" in body["detail"]
    # An approver who asked for sign-off cannot give it either.
    assert move(approver, action_id, "in_progress", comment="Not yet").status_code == 200
    assert move(approver, action_id, "pending_sign_off").status_code == 200
    body = assert_problem(
        approver.post(f"/api/v1/actions/{action_id}/transitions", json={"to": "completed"}), 403
    )
    assert "separation of duties" in body["detail"]
    # Editors cannot refuse sign-off either.
    assert_problem(move(editor, action_id, "in_progress", comment="x"), 403)
    second_approver = client_as("approver", name="bea")
    done = second_approver.post(
        f"/api/v1/actions/{action_id}/transitions", json={"to": "completed"}
    )
    assert done.status_code == 200, done.text
    actors = [
        e["actor"] for e in editor.get(f"/api/v1/actions/{action_id}/history").json()["items"]
    ]
    assert {"ed", "ann", "bea"} <= set(actors)
    assert actors[-1] == "bea"


def test_actor_shows_the_owner_a_token_acts_for(
    client: TestClient, client_as: Callable[..., TestClient], seeded: int
) -> None:
    owner = client.post("/api/v1/owners", json={"name": "Supt Jones"}).json()
    jones = client_as("editor", name="jones-laptop", owner_id=owner["id"])
    action_id = jones.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
    response = jones.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "On it"})
    assert response.json()["actor"] == "jones-laptop (for Supt Jones)"
    ignored = jones.post(
        f"/api/v1/actions/{action_id}/comments",
        json={"comment": "x"},
        headers={"X-Actor": "someone-else"},
    )
    assert ignored.json()["actor"] == "jones-laptop (for Supt Jones)"


def test_failed_attempts_are_logged_without_the_token_and_rate_limited(
    app: Any, seeded: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "auth_failure_limit", 3)
    guesser = TestClient(app, headers={"Authorization": "Bearer afi_guess-number-one"})
    with caplog.at_level("WARNING", logger="afi.auth"):
        for _ in range(3):
            assert_problem(guesser.get("/api/v1/reports"), 401)
    assert "failed authentication" in caplog.text
    assert "guess-number-one" not in caplog.text
    blocked = assert_problem(guesser.get("/api/v1/reports"), 429)
    assert "try again" in blocked["detail"]
    assert int(guesser.get("/api/v1/reports").headers["retry-after"]) >= 1
    # A valid token from the same address still gets in.
    valid = TestClient(app, headers={"Authorization": f"Bearer {make_token('viewer')}"})
    assert valid.get("/api/v1/reports").status_code == 200


def test_failed_attempts_forget_quiet_addresses() -> None:
    from app.api.auth import FailedAttempts

    attempts = FailedAttempts()
    attempts.MAX_CLIENTS = 3
    for client in ("a", "b", "c"):
        assert attempts.record(client, limit=2, window=0.0) == 0.0
    attempts.record("d", limit=2, window=0.0)
    assert set(attempts._seen) == {"d"}
    assert attempts.record("e", limit=1, window=60.0) == 0.0
    assert attempts.record("e", limit=1, window=60.0) > 0


def test_calendar_urls_take_only_viewer_tokens(anonymous: TestClient, seeded: int) -> None:
    editor = make_token("editor")
    body = assert_problem(anonymous.get(f"/api/v1/calendar.ics?token={editor}"), 403)
    assert "viewer" in body["detail"]
    assert anonymous.get(f"/api/v1/calendar.ics?token={make_token('viewer')}").status_code == 200


def test_a_calendar_token_in_the_header_wins_over_one_in_the_url(
    anonymous: TestClient, seeded: int
) -> None:
    editor = make_token("editor")
    url = f"/api/v1/calendar.ics?token={editor}"
    # The header's editor token is used: the editor token in the URL is not even looked at.
    assert anonymous.get(url, headers={"Authorization": f"Bearer {editor}"}).status_code == 200
    # A bad header token is refused, whatever the URL carries.
    viewer_url = f"/api/v1/calendar.ics?token={make_token('viewer')}"
    response = anonymous.get(viewer_url, headers={"Authorization": "Bearer afi_not-a-token"})
    assert_problem(response, 401)
