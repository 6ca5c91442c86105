"""`afi overdue`, the overdue summary endpoint and the calendar feed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from icalendar import Calendar
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import make_token
from tests.helpers import add_note, assert_problem, move

runner = CliRunner()


@pytest.fixture
def due(client: TestClient, seeded: int) -> dict[str, Any]:
    """Four actions with due dates in January 2027: one in progress, one open, one completed,
    one blocked and owned by Ann; the other 13 have none."""
    items = client.get("/api/v1/actions?limit=4").json()["items"]
    ann = client.post("/api/v1/owners", json={"name": "Ann Lee"}).json()
    dates = ["2027-01-10", "2027-01-20", "2027-01-15", "2027-01-05"]
    for item, when in zip(items, dates, strict=True):
        client.patch(f"/api/v1/actions/{item['id']}", json={"due_date": when})
    move(client, items[0]["id"], "in_progress", comment=None)
    add_note(client, items[2]["id"])
    move(client, items[2]["id"], "in_progress", comment=None)
    move(client, items[2]["id"], "pending_sign_off", comment=None)
    approver = TestClient(client.app, headers={"Authorization": f"Bearer {make_token('approver')}"})
    move(approver, items[2]["id"], "completed", comment=None)
    client.patch(f"/api/v1/actions/{items[3]['id']}", json={"owner_id": ann["id"]})
    move(client, items[3]["id"], "blocked", comment="Waiting")
    return {"items": items, "ann": ann}


def _run(*args: str) -> Any:
    return runner.invoke(cli, ["overdue", *args])


def test_exit_codes_follow_the_day_and_the_threshold(due: dict[str, Any]) -> None:
    assert _run("--as-of", "2027-01-05").exit_code == 0  # due today is not overdue
    assert _run("--as-of", "2027-01-06").exit_code == 1
    assert _run("--as-of", "2027-01-04", "--due-within", "6").exit_code == 0
    soon = _run("--as-of", "2027-01-04", "--due-within", "6", "--fail-on", "due-soon")
    assert soon.exit_code == 1
    assert (
        _run("--as-of", "2027-01-04", "--due-within", "0", "--fail-on", "due-soon").exit_code == 0
    )


def test_json_output_has_the_documented_shape(due: dict[str, Any]) -> None:
    result = _run("--as-of", "2027-02-01", "--format", "json", "--due-within", "30")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert list(body) == [
        "version", "as_of", "due_within", "fail_on", "failed", "checked",
        "overdue_count", "due_soon_count", "no_due_date_count", "overdue", "due_soon",
    ]  # fmt: skip
    assert body["no_due_date_count"] == 13
    assert body["as_of"] == "2027-02-01" and body["failed"] is True
    assert body["checked"] == 16  # every action but the completed one
    assert [i["due_date"] for i in body["overdue"]] == ["2027-01-05", "2027-01-10", "2027-01-20"]
    assert body["overdue"][0]["days_overdue"] == 27 and body["overdue"][0]["owner"] == "Ann Lee"
    assert set(body["overdue"][0]) == {
        "id", "reference", "title", "status", "priority", "owner", "due_date",
        "days_overdue", "force", "year", "report_id",
    }  # fmt: skip


def test_as_of_reproduces_an_earlier_state(due: dict[str, Any]) -> None:
    earlier = json.loads(_run("--as-of", "2027-01-12", "--format", "json").stdout)
    assert [i["due_date"] for i in earlier["overdue"]] == ["2027-01-05", "2027-01-10"]
    later = json.loads(_run("--as-of", "2027-01-21", "--format", "json").stdout)
    assert later["overdue_count"] == 3


def test_junit_output_is_valid_xml_with_one_case_per_action(due: dict[str, Any]) -> None:
    result = _run("--as-of", "2027-01-12", "--format", "junit", "--due-within", "10")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "0")) == 16
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == int(suite.get("failures", "0")) == 2
    assert {f.find("failure").get("message") for f in failed} == {  # type: ignore[union-attr]
        "overdue by 7 days", "overdue by 2 days",
    }  # fmt: skip
    notes = [c.find("system-out").text for c in cases if c.find("system-out") is not None]
    assert notes == [notes[0]] and notes[0].startswith("due in 8 days")  # type: ignore[union-attr]


def test_github_annotations(due: dict[str, Any]) -> None:
    result = _run("--as-of", "2027-01-12", "--format", "github", "--due-within", "10")
    lines = result.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines[:-1]] == [
        "::error", "::error", "::warning", "::notice",
    ]  # fmt: skip
    assert "days overdue" in lines[0] and "%3A" not in lines[0].split("::")[2]
    assert lines[-2] == "::notice title=No due date::13 checked actions have no due date"
    assert lines[-1].startswith(
        "2 overdue, 1 due within 10 days, 13 without a due date, 16 checked"
    )


def test_text_is_a_readable_table(due: dict[str, Any]) -> None:
    result = _run("--as-of", "2027-01-12", "--format", "text")
    assert "reference" in result.stdout and "Ann Lee" in result.stdout
    assert "2 overdue, 13 without a due date, 16 checked (as of 2027-01-12)" in result.stdout


def test_text_sent_to_a_log_is_never_wrapped_or_cut(
    due: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # a narrow CI log: a pipe is not a terminal anyway
    result = _run("--as-of", "2027-01-12", "--format", "text", "--due-within", "10")
    lines = result.stdout.splitlines()
    assert len(lines) == 5  # header, two overdue, one due soon, the summary
    shown = [
        (due["items"][i], when)
        for i, when in ((0, "2027-01-10"), (1, "2027-01-20"), (3, "2027-01-05"))
    ]
    for item, when in shown:
        row = next(line for line in lines if item["reference"] in line.split())
        assert when in row.split()
        assert item["title"] in row


def test_junit_skips_actions_without_a_due_date(due: dict[str, Any]) -> None:
    root = ET.fromstring(_run("--as-of", "2027-01-12", "--format", "junit").stdout)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("skipped") == "13"
    skipped = [c for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert len(skipped) == 13


def test_filters(due: dict[str, Any]) -> None:
    by_name = json.loads(
        _run("--as-of", "2027-02-01", "--format", "json", "--owner", "Ann Lee").stdout
    )
    assert by_name["checked"] == 1 and by_name["overdue_count"] == 1
    ann_id = str(due["ann"]["id"])
    by_id = json.loads(_run("--as-of", "2027-02-01", "--format", "json", "--owner", ann_id).stdout)
    assert by_id["overdue"] == by_name["overdue"]
    other = json.loads(_run("--as-of", "2027-02-01", "--format", "json", "--force", "Kent").stdout)
    assert other["checked"] == 0 and other["failed"] is False
    high = json.loads(
        _run("--as-of", "2027-02-01", "--format", "json", "--priority", "high").stdout
    )
    assert high["checked"] == 0


def test_usage_and_connection_errors_exit_2(due: dict[str, Any]) -> None:
    assert _run("--as-of", "yesterday").exit_code == 2
    assert _run("--format", "xml").exit_code == 2
    assert _run("--owner", "Nobody").exit_code == 2
    refused = _run("--url", "http://127.0.0.1:9", "--timeout", "2")
    assert refused.exit_code == 2 and "Cannot reach" in refused.stderr


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a loopback port of its own, in a thread."""
    ready = threading.Event()

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            ready.set()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert ready.wait(timeout=15)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def test_against_a_live_server(due: dict[str, Any], live_server: str) -> None:
    token = make_token("viewer")
    local = json.loads(_run("--as-of", "2027-01-12", "--format", "json").stdout)
    remote = runner.invoke(
        cli,
        ["overdue", "--url", live_server, "--as-of", "2027-01-12", "--format", "json"],
        env={"AFI_TOKEN": token},
    )
    assert remote.exit_code == 1, remote.output
    assert json.loads(remote.stdout) == local
    by_name = runner.invoke(
        cli, ["overdue", "--url", live_server, "--token", token, "--owner", "Ann Lee",
              "--as-of", "2027-01-01"],
    )  # fmt: skip
    assert by_name.exit_code == 0
    no_token = _run("--url", live_server)
    assert no_token.exit_code == 2 and "401" in no_token.stderr


def test_overdue_summary_endpoint(client: TestClient, due: dict[str, Any]) -> None:
    body = client.get("/api/v1/actions/overdue-summary?as_of=2027-01-12&due_within=10").json()
    assert (body["checked"], body["overdue"], body["due_soon"]) == (16, 2, 1)
    assert [i["due_date"] for i in body["oldest"]] == ["2027-01-05", "2027-01-10"]
    assert body["oldest"][0]["days_overdue"] == 7
    assert body["overdue_by_priority"] == {"medium": 2}
    none = client.get("/api/v1/actions/overdue-summary?as_of=2027-01-01").json()
    assert none["overdue"] == 0 and none["oldest"] == [] and none["due_soon"] is None
    mine = client.get(
        f"/api/v1/actions/overdue-summary?as_of=2027-01-12&owner_id={due['ann']['id']}"
    ).json()
    assert mine["checked"] == 1
    assert_problem(client.get("/api/v1/actions/overdue-summary?due_within=-1"), 422)


def test_calendar_feed_parses_with_stable_uids(
    client: TestClient, due: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "public_url", "https://afi.example.org")
    response = client.get("/api/v1/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    feed = Calendar.from_ical(response.content)
    events = list(feed.walk("VEVENT"))
    assert len(events) == 3  # the completed action is left out
    starts = sorted(e.decoded("dtstart") for e in events)
    assert starts == [date(2027, 1, 5), date(2027, 1, 10), date(2027, 1, 20)]
    first = next(e for e in events if e.decoded("dtstart") == date(2027, 1, 5))
    assert str(first["summary"]).startswith(due["items"][3]["reference"])
    assert str(first["url"]) == f"https://afi.example.org/api/v1/actions/{due['items'][3]['id']}"
    again = Calendar.from_ical(client.get("/api/v1/calendar.ics").content)
    assert {str(e["uid"]) for e in again.walk("VEVENT")} == {str(e["uid"]) for e in events}
    mine = Calendar.from_ical(
        client.get(f"/api/v1/calendar.ics?owner_id={due['ann']['id']}").content
    )
    assert len(list(mine.walk("VEVENT"))) == 1
    done = Calendar.from_ical(client.get("/api/v1/calendar.ics?status=completed").content)
    assert len(list(done.walk("VEVENT"))) == 1


def test_calendar_takes_a_token_in_the_url(anonymous: TestClient, due: dict[str, Any]) -> None:
    token = make_token("viewer")
    assert anonymous.get(f"/api/v1/calendar.ics?token={token}").status_code == 200
    assert_problem(anonymous.get("/api/v1/calendar.ics"), 401)
    assert_problem(anonymous.get("/api/v1/calendar.ics?token=afi_wrong"), 401)
    # Only the feed reads tokens from the URL.
    assert_problem(anonymous.get(f"/api/v1/actions?token={token}"), 401)


def test_a_server_that_is_not_the_service_is_a_connection_error(
    due: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def proxy_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    real_transport = httpx.HTTPTransport
    monkeypatch.setattr(httpx, "HTTPTransport", lambda **_: httpx.MockTransport(proxy_page))
    result = _run("--url", "http://proxy.invalid", "--token", "afi_x")
    monkeypatch.setattr(httpx, "HTTPTransport", real_transport)
    assert result.exit_code == 2
    assert "other than JSON" in result.stderr
    assert _run("--owner", "99999999999999999999").exit_code == 2


def test_actions_of_withdrawn_findings_are_not_overdue(
    client: TestClient, due: dict[str, Any], session: Any
) -> None:
    from sqlalchemy import select

    from app import clock
    from app.models import Action, Finding

    blocked = due["items"][3]
    action = session.get(Action, blocked["id"])
    finding = session.get(Finding, action.finding_id)
    finding.withdrawn_at = clock.utcnow()
    session.commit()
    body = client.get(f"/api/v1/actions/{blocked['id']}?as_of=2027-02-01").json()
    assert body["is_overdue"] is False and body["finding_withdrawn_at"] is not None
    summary = client.get("/api/v1/actions/overdue-summary?as_of=2027-02-01").json()
    assert summary["overdue"] == 2
    listed = client.get("/api/v1/actions?overdue=true&as_of=2027-02-01").json()["items"]
    assert blocked["id"] not in [i["id"] for i in listed]
    result = json.loads(_run("--as-of", "2027-02-01", "--format", "json").stdout)
    assert result["overdue_count"] == 2
    assert (
        session.scalars(select(Action.status).where(Action.id == blocked["id"])).one() == "blocked"
    )
