"""Issue 16: webhook subscriptions and signed deliveries to a real HTTP receiver, driven by
explicit worker passes and the clock (no waiting)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook as Verifier
from typer.testing import CliRunner

from app import clock
from app.cli import cli
from tests.helpers import assert_problem, move
from tests.webhook_receiver import Receiver


class Clock:
    """The service's clock, moved by the test; it starts at the real time, so that signatures
    still verify within the library's five minutes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime.now(UTC)
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)

    def to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)

    def forward(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def moved_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def worker() -> Iterator[Any]:
    from app.worker import Worker

    work = Worker()
    yield work
    work.close()


def subscribe(client: TestClient, url: str, events: list[str], **filters: Any) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events, **filters})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def log(client: TestClient, webhook_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries?limit=500")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def verified(secret: str, request: Any) -> dict[str, Any]:
    """The payload, if the request's signature verifies with the standardwebhooks library."""
    payload: dict[str, Any] = Verifier(secret).verify(request.body, request.headers)
    return payload


def test_a_webhook_is_made_shown_and_removed_by_admins_only(
    client: TestClient, client_as: Callable[..., TestClient], allow_private: None, seeded: int
) -> None:
    body = subscribe(
        client,
        "http://127.0.0.1:9/hook",
        ["action.created", "action.status_changed"],
        report_id=seeded,
        force="cumbria",
    )
    assert body["secret"].startswith("whsec_")
    Verifier(body["secret"])  # a secret the library takes
    shown = client.get(f"/api/v1/webhooks/{body['id']}")
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    assert shown.json() == {key: value for key, value in body.items() if key != "secret"}
    assert shown.json()["created_by"] == "test-admin"
    listed = client.get("/api/v1/webhooks").json()["items"]
    assert [hook["id"] for hook in listed] == [body["id"]] and "secret" not in listed[0]
    for role in ("viewer", "editor", "approver"):
        assert_problem(client_as(role).get("/api/v1/webhooks"), 403)
    assert client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert_problem(client.get(f"/api/v1/webhooks/{body['id']}"), 404)
    assert_problem(client.delete(f"/api/v1/webhooks/{body['id']}"), 404)


def test_the_location_of_a_new_webhook_is_the_webhook(
    client: TestClient, allow_private: None
) -> None:
    response = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["report.imported"]}
    )
    assert response.headers["location"] == f"/api/v1/webhooks/{response.json()['id']}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_internal_targets_are_refused(client: TestClient, url: str) -> None:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": ["action.created"]})
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "url"
    assert "AFI_WEBHOOK_ALLOW_PRIVATE" in body["detail"]


def test_a_public_target_is_taken_and_bad_input_is_a_422_naming_it(client: TestClient) -> None:
    subscribe(client, "https://93.184.216.34/hooks/afi", ["action.overdue"])
    bad = {
        "url": [
            {"url": "ftp://93.184.216.34/x", "events": ["action.created"]},
            {"url": "https://user:pw@93.184.216.34/x", "events": ["action.created"]},
            {"url": "https://93.184.216.34/x#frag", "events": ["action.created"]},
            {"url": "https://93.184.216.34:99999/x", "events": ["action.created"]},
            {"url": "https://no-such-host.invalid/x", "events": ["action.created"]},
        ],
        "events": [
            {"url": "https://93.184.216.34/x", "events": []},
            {"url": "https://93.184.216.34/x", "events": ["action.deleted"]},
        ],
        "report_id": [
            {"url": "https://93.184.216.34/x", "events": ["action.created"], "report_id": 999}
        ],
        "owner_id": [
            {"url": "https://93.184.216.34/x", "events": ["action.created"], "owner_id": 999}
        ],
        "secret": [{"url": "https://93.184.216.34/x", "events": ["action.created"], "secret": "x"}],
    }
    for field, bodies in bad.items():
        for body in bodies:
            problem = assert_problem(client.post("/api/v1/webhooks", json=body), 422)
            assert problem["errors"][0]["field"].split(".")[0] == field, (body, problem)


def test_a_change_is_delivered_signed_with_the_feeds_id(
    client: TestClient, receiver: Receiver, allow_private: None, worker: Any, action_id: int
) -> None:
    hook = subscribe(client, receiver.url, ["action.status_changed"])
    assert move(client, action_id, "in_progress").status_code == 200
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "not subscribed"})
    summary = worker.run_once()
    assert (summary.fanned_out, summary.attempted) == (1, 1)
    [request] = receiver.received
    payload = verified(hook["secret"], request)
    assert payload["type"] == "action.status_changed"
    assert payload["data"]["action_id"] == action_id
    assert (payload["data"]["from"], payload["data"]["to"]) == ("open", "in_progress")
    [event] = client.get("/api/v1/events?type=action.status_changed").json()["items"]
    assert request.headers["webhook-id"] == f"evt_{event['id']}"
    assert json.loads(request.body) == {key: event[key] for key in ("type", "timestamp", "data")}
    assert request.headers["content-type"] == "application/json"
    [delivery] = log(client, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    assert delivery["response_status"] == 204 and delivery["latency_ms"] >= 0
    assert delivery["message_id"] == f"evt_{event['id']}"
    assert delivery["event_type"] == "action.status_changed"
    assert [a["outcome"] for a in delivery["attempt_log"]] == ["succeeded"]
    # Nothing more to do: a pass finds nothing.
    assert worker.run_once().attempted == 0 and len(receiver.received) == 1


def test_filters_choose_the_events_a_webhook_gets(
    client: TestClient, receiver: Receiver, allow_private: None, worker: Any, seeded: int
) -> None:
    owner = client.post("/api/v1/owners", json={"name": "Supt Jones"}).json()["id"]
    first, second = (a["id"] for a in client.get("/api/v1/actions?limit=2").json()["items"])
    types = ["action.owner_changed", "action.comment_added"]
    by_owner = subscribe(client, receiver.url, types, owner_id=owner)
    by_force = subscribe(client, receiver.url, types, force="CUMBRIA")
    elsewhere = subscribe(client, receiver.url, types, force="Kent")
    kent = client.post(
        "/api/v1/reports",
        content="Kent PEEL 2017\nEffectiveness\nHow effective?\nText.\nAreas for improvement\n"
        "- The force should improve.\n",
        headers={"Content-Type": "text/plain"},
    )
    assert kent.status_code == 201, kent.text
    other_report = subscribe(client, receiver.url, types, report_id=kent.json()["report"]["id"])
    this_report = subscribe(client, receiver.url, ["action.comment_added"], report_id=seeded)
    client.patch(f"/api/v1/actions/{first}", json={"owner_id": owner})
    client.post(f"/api/v1/actions/{second}/comments", json={"comment": "Not the owner's"})
    client.patch(f"/api/v1/actions/{first}", json={"owner_id": None})  # away from the owner
    worker.run_once()
    assert [d["event_type"] for d in log(client, by_owner["id"])] == ["action.owner_changed"] * 2
    assert len(log(client, by_force["id"])) == 3
    assert log(client, elsewhere["id"]) == [] and log(client, other_report["id"]) == []
    assert [d["event_type"] for d in log(client, this_report["id"])] == ["action.comment_added"]
    assert len(receiver.received) == 6


def test_a_receiver_down_for_a_while_gets_everything_once_back_with_the_retries_logged(
    client: TestClient,
    receiver: Receiver,
    allow_private: None,
    worker: Any,
    action_id: int,
    moved_clock: Clock,
) -> None:
    hook = subscribe(client, receiver.url, ["action.comment_added"])
    receiver.stop()
    for number in range(3):
        client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": f"c{number}"})
    assert worker.run_once().attempted == 3
    receiver.status = 503
    receiver.start()
    moved_clock.forward(timedelta(seconds=10))  # the longest first backoff
    assert worker.run_once().attempted == 3
    assert receiver.received and all(r.headers["webhook-id"] for r in receiver.received)
    receiver.received.clear()
    receiver.status = 200
    assert worker.run_once().attempted == 0  # not due yet
    moved_clock.forward(timedelta(seconds=20))
    assert worker.run_once().attempted == 3
    deliveries = log(client, hook["id"])
    assert [d["status"] for d in deliveries] == ["succeeded"] * 3
    for delivery in deliveries:
        outcomes = [(a["outcome"], a["response_status"]) for a in delivery["attempt_log"]]
        assert outcomes == [("failed", None), ("failed", 503), ("succeeded", 200)]
        assert "ConnectError" in delivery["attempt_log"][0]["error"]
        assert delivery["attempt_log"][1]["error"] == "answered HTTP 503"
    comments = sorted(verified(hook["secret"], r)["data"]["comment"] for r in receiver.received)
    assert comments == ["c0", "c1", "c2"]
    assert sorted(receiver.ids()) == sorted(d["message_id"] for d in deliveries)
    assert client.get(f"/api/v1/webhooks/{hook['id']}").json()["failing_since"] is None


def test_a_worker_that_dies_mid_delivery_loses_nothing_and_the_retry_keeps_the_id(
    client: TestClient,
    receiver: Receiver,
    allow_private: None,
    worker: Any,
    action_id: int,
    moved_clock: Clock,
) -> None:
    from app.db import SessionLocal
    from app.services import deliveries

    hook = subscribe(client, receiver.url, ["action.comment_added"])
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "Hello"})
    worker.run_once()  # delivered
    [first] = receiver.received
    client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{log(client, hook['id'])[0]['id']}/redeliver"
    )
    # Another worker claims the redelivery and dies before sending it.
    with SessionLocal.begin() as session:
        [claimed] = deliveries.claim(session=session, now=clock.utcnow(), limit=10)
    assert worker.run_once().attempted == 0  # its lease holds
    moved_clock.forward(deliveries.lease())
    assert worker.run_once().attempted == 1
    second = receiver.received[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert verified(hook["secret"], second) == verified(hook["secret"], first)
    [delivery] = log(client, hook["id"])
    assert [a["outcome"] for a in delivery["attempt_log"]] == [
        "succeeded",
        "abandoned",
        "succeeded",
    ]
    assert delivery["attempts"] == 3 and claimed.number == 2
    # The dead worker's late record changes nothing.
    with SessionLocal.begin() as session:
        deliveries.record(
            session=session,
            claimed=claimed,
            outcome=deliveries.Outcome(ok=False, error="late"),
            now=clock.utcnow(),
        )
    [after] = log(client, hook["id"])
    assert after["status"] == "succeeded" and after["attempt_log"][1]["outcome"] == "abandoned"


def test_redelivery_sends_the_same_message_again_and_refuses_what_is_in_flight(
    client: TestClient, receiver: Receiver, allow_private: None, worker: Any, action_id: int
) -> None:
    from app.db import SessionLocal
    from app.services import deliveries

    hook = subscribe(client, receiver.url, ["action.comment_added"])
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "Hello"})
    worker.run_once()
    [delivery] = log(client, hook["id"])
    url = f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    response = client.post(url)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 1
    with SessionLocal.begin() as session:
        deliveries.claim(session=session, now=clock.utcnow(), limit=10)
    assert_problem(client.post(url), 409)
    assert_problem(client.post(f"/api/v1/webhooks/{hook['id']}/deliveries/999/redeliver"), 404)
    assert_problem(client.post(f"/api/v1/webhooks/999/deliveries/{delivery['id']}/redeliver"), 404)


def test_persistent_failure_gives_up_after_about_a_day_and_disables_the_webhook(
    client: TestClient,
    receiver: Receiver,
    allow_private: None,
    worker: Any,
    action_id: int,
    moved_clock: Clock,
) -> None:
    hook = subscribe(client, receiver.url, ["action.comment_added"])
    receiver.status = 500
    start = moved_clock.now
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "Hello"})
    for _ in range(100):
        worker.run_once()
        [delivery] = log(client, hook["id"])
        if delivery["status"] != "pending":
            break
        moved_clock.to(datetime.fromisoformat(delivery["next_attempt_at"]))
    assert delivery["status"] == "failed" and delivery["next_attempt_at"] is None
    attempts = delivery["attempt_log"]
    assert 10 <= len(attempts) <= 25
    assert [a["response_status"] for a in attempts] == [500] * len(attempts)
    last = datetime.fromisoformat(attempts[-1]["started_at"])
    assert timedelta(hours=18) <= last - start <= timedelta(hours=24)
    gaps = [
        datetime.fromisoformat(b["started_at"]) - datetime.fromisoformat(a["started_at"])
        for a, b in itertools.pairwise(attempts)
    ]
    assert gaps[0] <= timedelta(seconds=10) and max(gaps) <= timedelta(hours=6)
    assert gaps[5] > gaps[0]  # growing
    shown = client.get(f"/api/v1/webhooks/{hook['id']}").json()
    assert shown["disabled_at"] is not None and "500" in shown["disabled_reason"]
    # Disabled: new events are not queued for it, until an admin enables it again.
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "Again"})
    assert worker.run_once().fanned_out == 0
    enabled = client.post(f"/api/v1/webhooks/{hook['id']}/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled_at"] is None and enabled.json()["failing_since"] is None
    receiver.status = 200
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "Back"})
    summary = worker.run_once()
    assert (summary.fanned_out, summary.attempted) == (1, 1)
    # A day on, the library's five-minute window refuses the (test clock's) timestamp: the
    # signature is checked with its sign() at the timestamp sent.
    back = receiver.received[-1]
    sent_at = datetime.fromtimestamp(int(back.headers["webhook-timestamp"]), UTC)
    signature = Verifier(hook["secret"]).sign(back.headers["webhook-id"], sent_at, back.body)
    assert back.headers["webhook-signature"] == signature
    assert json.loads(back.body)["data"]["comment"] == "Back"


def test_the_command_line_adds_lists_and_removes_webhooks(
    allow_private: None, receiver: Receiver
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["webhook", "add", receiver.url, "--event", "action.created", "--event",
              "report.imported", "--force", "Kent"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("whsec_")
    Verifier(secret)
    listed = runner.invoke(cli, ["webhook", "list"])
    assert listed.exit_code == 0
    [line] = listed.stdout.splitlines()
    webhook_id, url, events, *rest = line.split("\t")
    assert (url, events) == (receiver.url, "action.created,report.imported")
    assert "force Kent" in rest and secret not in line
    refused = runner.invoke(cli, ["webhook", "add", receiver.url, "--event", "action.nothing"])
    assert refused.exit_code == 2
    assert runner.invoke(cli, ["webhook", "enable", webhook_id]).exit_code == 0
    assert runner.invoke(cli, ["webhook", "remove", webhook_id]).exit_code == 0
    assert runner.invoke(cli, ["webhook", "list"]).stdout == ""
    missing = runner.invoke(cli, ["webhook", "remove", webhook_id])
    assert missing.exit_code == 2 and f"No webhook with id {webhook_id}" in missing.output
