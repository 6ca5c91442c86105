"""Issue 16: daily e-mail digests, sent to a real SMTP server in the test process (aiosmtpd)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from app import clock
from tests.helpers import add_note, assert_problem, move
from tests.live_server import free_port

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


class Inbox:
    """aiosmtpd's handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Try again later"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    from app.settings import get_settings

    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{port}")
    monkeypatch.setattr(get_settings(), "mail_from", "afi@example.org")
    yield handler
    controller.stop()


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: moment)

    set_to(NOON - timedelta(days=3))
    return set_to


@pytest.fixture
def worker() -> Iterator[Any]:
    from app.worker import Worker

    work = Worker()
    yield work
    work.close()


def owner(client: TestClient, name: str, email: str | None, **extra: Any) -> int:
    response = client.post("/api/v1/owners", json={"name": name, "email": email, **extra})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_owners_get_one_digest_a_day_and_approvers_the_sign_off_requests(
    client: TestClient,
    client_as: Callable[..., TestClient],
    inbox: Inbox,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
    data_dir: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.services import digests

    monkeypatch.setattr(digests, "OWNER_BATCH", 1)  # an owner per transaction
    jones = owner(client, "Supt Jones", "jones@example.org")
    quiet = owner(client, "Insp Quiet", "quiet@example.org", digest_opt_out=True)
    nomail = owner(client, "No Mail", None)
    boss = owner(client, "Ch Supt Boss", "boss@example.org")
    client_as("approver", owner_id=boss, user="boss")
    ids = [a["id"] for a in client.get("/api/v1/actions?limit=6").json()["items"]]
    overdue, soon, refused, pending, quiet_one, nomail_one = ids
    plan = {
        overdue: (jones, "2026-11-20"),
        soon: (jones, "2026-12-05"),
        refused: (jones, "2027-06-01"),
        pending: (nomail, "2027-06-01"),
        quiet_one: (quiet, "2026-11-01"),
        nomail_one: (nomail, "2026-11-01"),
    }
    for action, (owner_id, due) in plan.items():
        patched = client.patch(
            f"/api/v1/actions/{action}", json={"owner_id": owner_id, "due_date": due}
        )
        assert patched.status_code == 200, patched.text
    for action in (refused, pending):
        add_note(client, action)
        assert move(client, action, "in_progress").status_code == 200
        assert move(client, action, "pending_sign_off").status_code == 200
    set_clock(NOON)
    approver = client_as("approver", user="ann")
    assert move(approver, refused, "in_progress", comment="Not enough").status_code == 200

    worker.run_once()
    assert sorted(m["To"] for m in inbox.messages) == ["boss@example.org", "jones@example.org"]
    [mail] = inbox.to("jones@example.org")
    assert mail["From"] == "afi@example.org"
    assert mail["Subject"].strip() == (
        "AFI Tracker, 2026-12-01: 1 overdue, 1 due within 14 days, 1 sign-off refused"
    )
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    reference = client.get(f"/api/v1/actions/{overdue}").json()["reference"]
    for body in (text, html):
        assert reference in body and "Supt Jones" in body
        assert "Sign-off refused (1)" in body and "2026-11-20" in body
    assert "<h2>Overdue (1)</h2>" in html
    [boss_mail] = inbox.to("boss@example.org")
    assert "Waiting for sign-off (1)" in boss_mail.get_body(("plain",)).get_content()

    # Once a day: again, by this worker or another, sends nothing more.
    worker.run_once()
    from app.worker import Worker

    other = Worker()
    other.run_once()
    other.close()
    assert len(inbox.messages) == 2
    # The next day: a new digest; the refusal was in yesterday's.
    set_clock(NOON + timedelta(days=1))
    worker.run_once()
    [_, second] = inbox.to("jones@example.org")
    assert "Sign-off refused" not in second["Subject"]


def test_an_owner_opts_out_and_in_and_null_is_refused(client: TestClient) -> None:
    created = client.post("/api/v1/owners", json={"name": "A", "email": "a@example.org"}).json()
    assert created["digest_opt_out"] is False
    url = f"/api/v1/owners/{created['id']}"
    assert client.patch(url, json={"digest_opt_out": True}).json()["digest_opt_out"] is True
    assert_problem(client.patch(url, json={"digest_opt_out": None}), 422)
    assert_problem(client.patch(url, json={"digest_opt_out": "yes"}), 422)
    assert client.patch(url, json={"digest_opt_out": False}).json()["digest_opt_out"] is False


def test_a_refusing_mail_server_gets_the_digest_again_later(
    client: TestClient,
    inbox: Inbox,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
) -> None:
    from app.db import SessionLocal
    from app.models import MailDigest

    jones = owner(client, "Supt Jones", "jones@example.org")
    action = client.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
    client.patch(f"/api/v1/actions/{action}", json={"owner_id": jones, "due_date": "2026-11-01"})
    set_clock(NOON)
    inbox.refuse = True
    worker.run_once()
    assert inbox.messages == []
    with SessionLocal() as session:
        [digest] = session.query(MailDigest).all()
        assert digest.status == "pending" and "451" in (digest.error or "")
        retry_at = digest.next_attempt_at
    assert retry_at is not None
    inbox.refuse = False
    set_clock(retry_at)
    worker.run_once()
    assert [m["To"] for m in inbox.messages] == ["jones@example.org"]
    with SessionLocal() as session:
        [digest] = session.query(MailDigest).all()
        assert digest.status == "sent" and digest.attempts == 2


def test_without_an_smtp_server_no_digest_is_made(
    client: TestClient, set_clock: Callable[[datetime], None], worker: Any, seeded: int
) -> None:
    from app.db import SessionLocal
    from app.models import MailDigest

    jones = owner(client, "Supt Jones", "jones@example.org")
    action = client.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
    client.patch(f"/api/v1/actions/{action}", json={"owner_id": jones, "due_date": "2026-11-01"})
    set_clock(NOON)
    worker.run_once()
    with SessionLocal() as session:
        assert session.query(MailDigest).count() == 0
