"""Issue 16, e-mail: escaping, a mail server that is down, `afi mail` (and --dry-run), the
sender setting. A real SMTP server runs in the test process (aiosmtpd, see test_digests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.settings import Settings, get_settings
from tests import test_digests
from tests.helpers import add_note, move
from tests.live_server import free_port

# The fixtures and helpers of test_digests: the SMTP server's inbox, the clock, a worker.
inbox = test_digests.inbox
set_clock = test_digests.set_clock
worker = test_digests.worker
Inbox = test_digests.Inbox
NOON = test_digests.NOON
owner = test_digests.owner


def overdue_action(client: TestClient, owner_id: int, nth: int = 0, **changes: Any) -> int:
    """Give the nth action of the seed report to the owner, overdue unless `changes` say."""
    action = int(client.get("/api/v1/actions?limit=5").json()["items"][nth]["id"])
    patch = {"owner_id": owner_id, "due_date": "2026-11-01", **changes}
    assert client.patch(f"/api/v1/actions/{action}", json=patch).status_code == 200
    return action


def digests() -> list[Any]:
    from app.db import SessionLocal
    from app.models import MailDigest

    with SessionLocal() as session:
        return list(session.scalars(select(MailDigest).order_by(MailDigest.id)))


def test_the_html_part_escapes_all_it_quotes_and_the_text_part_keeps_it(
    client: TestClient,
    inbox: Inbox,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
) -> None:
    name = '<b>O\'Brien & "Sons"</b>'
    title = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"
    overdue_action(client, owner(client, name, "ob@example.org"), title=title)
    set_clock(NOON)
    worker.run_once()
    [mail] = inbox.messages
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    page = mail.get_body(("html",)).get_content()
    assert name in text and title in text
    assert "&lt;b&gt;O&#x27;Brien &amp; &quot;Sons&quot;&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;img src=x" in page
    for raw in ("<script", "<img", "<b>"):
        assert raw not in page


def test_a_mail_server_that_is_down_leaves_the_digest_queued_and_the_api_unharmed(
    client: TestClient,
    client_as: Callable[..., TestClient],
    inbox: Inbox,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
    data_dir: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    up = get_settings().smtp_url
    jones = owner(client, "Supt Jones", "jones@example.org")
    action = overdue_action(client, jones)
    set_clock(NOON)
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{free_port()}")
    worker.run_once()  # does not raise
    [digest] = digests()
    assert (digest.status, digest.attempts, digest.sent_at) == ("pending", 1, None)
    assert "ConnectionRefusedError" in (digest.error or "")
    # Nothing in the API waits for or depends on the mail server (a 500 would raise here).
    add_note(client, action)
    assert move(client, action, "in_progress").status_code == 200
    assert client.patch(f"/api/v1/owners/{jones}", json={"team": "PVP"}).status_code == 200
    assert client.get("/api/v1/owners").status_code == 200
    result = CliRunner().invoke(cli, ["mail"])
    assert result.exit_code == 1, result.output
    assert "0 sent, 1 waiting" in result.output and "Traceback" not in result.output
    assert inbox.messages == []
    # Back up: the next pass after the backoff sends it, once.
    monkeypatch.setattr(get_settings(), "smtp_url", up)
    [digest] = digests()
    assert digest.next_attempt_at is not None
    set_clock(digest.next_attempt_at)
    worker.run_once()
    worker.run_once()
    assert [m["To"] for m in inbox.messages] == ["jones@example.org"]
    [digest] = digests()
    assert (digest.status, digest.attempts) == ("sent", 2)


def test_afi_mail_dry_run_writes_nothing_then_afi_mail_sends_each_digest_once(
    client: TestClient,
    inbox: Inbox,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
) -> None:
    jones = owner(client, "Supt Jones", "jones@example.org")
    overdue_action(client, jones)
    owner(client, "Opted Out", "out@example.org", digest_opt_out=True)
    idle = owner(client, "Nothing Due", "idle@example.org")
    overdue_action(client, idle, nth=1, due_date="2030-01-01")
    set_clock(NOON)
    runner = CliRunner()
    result = runner.invoke(cli, ["mail", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("To: ") == 1 and "To: jones@example.org" in result.stdout
    assert "Subject: AFI Tracker, 2026-12-01: 1 overdue" in result.stdout
    assert "Dear Supt Jones," in result.stdout
    assert "1 digest(s) to make, 0 made and waiting" in result.stderr
    assert digests() == [] and inbox.messages == []

    result = runner.invoke(cli, ["mail"])
    assert result.exit_code == 0, result.output
    assert "1 made now; 1 sent, 0 waiting" in result.output
    assert [m["To"] for m in inbox.messages] == ["jones@example.org"]
    # Again, by the command line or the worker, the same day: nothing more.
    result = runner.invoke(cli, ["mail"])
    assert result.exit_code == 0 and "0 made now; 1 sent" in result.output
    worker.run_once()
    assert len(inbox.messages) == 1
    result = runner.invoke(cli, ["mail", "--dry-run"])
    assert result.stdout == "" and "0 digest(s) to make" in result.stderr


def test_afi_mail_without_a_mail_server(
    client: TestClient, set_clock: Callable[[datetime], None], seeded: int
) -> None:
    overdue_action(client, owner(client, "Supt Jones", "jones@example.org"))
    set_clock(NOON)
    result = CliRunner().invoke(cli, ["mail"])
    assert result.exit_code == 2 and "AFI_SMTP_URL is not set" in result.output
    result = CliRunner().invoke(cli, ["mail", "--dry-run"])
    assert result.exit_code == 0 and "To: jones@example.org" in result.stdout
    assert "e-mail is off" in result.stderr
    assert digests() == []


def test_credentials_smtplib_cannot_send_are_recorded_not_raised(
    client: TestClient,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def anyone(*_args: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        return AuthResult(success=True)

    port = free_port()
    controller = Controller(
        Inbox(), hostname="127.0.0.1", port=port, authenticator=anyone, auth_require_tls=False
    )
    controller.start()
    try:
        monkeypatch.setattr(
            get_settings(), "smtp_url", f"smtp://j%C3%B6rg:p%C3%A4ss@127.0.0.1:{port}"
        )
        overdue_action(client, owner(client, "Supt Jones", "jones@example.org"))
        set_clock(NOON)
        worker.run_once()
    finally:
        controller.stop()
    [digest] = digests()
    assert digest.status == "pending" and "UnicodeEncodeError" in (digest.error or "")


@pytest.mark.parametrize("sender", ["nobody", "a@", "afi@example.org\r\nBcc: x@example.org"])
def test_a_sender_that_is_not_an_address_is_refused_at_start(sender: str) -> None:
    with pytest.raises(ValidationError, match="mail_from"):
        Settings(mail_from=sender)


def test_a_sender_with_a_display_name_is_used_as_given(
    client: TestClient,
    inbox: Inbox,
    set_clock: Callable[[datetime], None],
    worker: Any,
    seeded: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(get_settings(), "mail_from", "AFI Tracker <afi@example.org>")
    overdue_action(client, owner(client, "Supt Jones", "jones@example.org"))
    set_clock(NOON)
    worker.run_once()
    [mail] = inbox.messages
    assert mail["From"].addresses[0].addr_spec == "afi@example.org"
    assert mail["From"].addresses[0].display_name == "AFI Tracker"
