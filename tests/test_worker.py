"""Issue 16: the delivery worker: in `afi serve` unless --no-worker, `afi worker`, and several
workers sharing the queue on PostgreSQL without delivering an attempt twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from tests.conftest import ROOT, SEED, fresh_database
from tests.live_server import free_port
from tests.webhook_receiver import Receiver

# Several workers need PostgreSQL; these tests run in the SQLite run of the suite as well.
POSTGRES_URL = os.environ.get(
    "AFI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


AFI = [sys.executable, "-m", "app.cli"]


def _service_env(workdir: Path, database_url: str) -> dict[str, str]:
    """The environment of `afi` run as a process of its own, on `database_url`: webhooks to
    the loopback receiver allowed, its worker looking for work every tenth of a second."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFI_")}
    env.update(
        PYTHONPATH=str(ROOT),
        AFI_DATABASE_URL=database_url,
        AFI_SEEDS_DIR=str(ROOT / "seeds"),
        AFI_DATA_DIR=str(workdir / "data"),
        AFI_WEBHOOK_ALLOW_PRIVATE="true",
        AFI_WORKER_POLL_SECONDS="0.1",
    )
    return env


@pytest.mark.parametrize("flags", [[], ["--no-worker"]])
def test_serve_runs_the_worker_beside_the_api_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, flags: list[str]
) -> None:
    import uvicorn

    from app.worker import Worker

    passes: list[bool] = []
    running: list[list[str]] = []

    def run_forever(self: Worker, stop: threading.Event) -> None:
        passes.append(True)
        stop.wait()

    monkeypatch.setattr(Worker, "run_forever", run_forever)
    monkeypatch.setattr(
        uvicorn, "run", lambda *a, **k: running.append([t.name for t in threading.enumerate()])
    )
    result = CliRunner().invoke(cli, ["serve", *flags])
    assert result.exit_code == 0, result.output
    with_worker = not flags
    assert ("afi-worker" in running[0]) is with_worker
    assert passes == ([True] if with_worker else [])
    assert "afi-worker" not in [t.name for t in threading.enumerate()]


def test_afi_worker_once_delivers(
    client: TestClient, receiver: Receiver, allow_private: None, action_id: int
) -> None:
    hook = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["action.comment_added"]}
    ).json()
    client.post(f"/api/v1/actions/{action_id}/comments", json={"comment": "Hi"})
    result = CliRunner().invoke(cli, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert len(receiver.received) == 1
    [delivery] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert delivery["status"] == "succeeded"


def test_afi_serve_delivers_with_its_own_worker(tmp_path: Path, receiver: Receiver) -> None:
    """The service as a user runs it, in a process of its own (whose clock and worker the
    test cannot drive: it waits for the receiver to be called, up to a deadline)."""
    env = _service_env(tmp_path, f"sqlite:///{tmp_path / 'afi.db'}")
    port = free_port()
    server = subprocess.Popen(
        [*AFI, "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(transport=httpx.HTTPTransport(retries=8), timeout=30) as probe:
            assert probe.get(f"{base}/health").status_code == 200
        token = subprocess.run(
            [*AFI, "token", "create", "--name", "admin", "--role", "admin"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api:
            hook = api.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "events": ["action.comment_added"]},
            )
            assert hook.status_code == 201, hook.text
            action = api.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
            api.post(f"/api/v1/actions/{action}/comments", json={"comment": "Live"})
            assert receiver.wait_for(1, timeout=60)
            assert '"comment":"Live"' in receiver.received[0].body
            assert receiver.received[0].headers["webhook-signature"].startswith("v1,")
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def own_database(base_database_url: str) -> Iterator[Any]:
    """A fresh database of the suite's kind (a SQLite file, or PostgreSQL), migrated, that a
    process of its own shares with the test: committed data is real."""
    from app.db import Database, make_engine

    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            yield Database(engine)
        finally:
            engine.dispose()


def test_a_worker_killed_mid_delivery_loses_nothing_and_the_retry_keeps_the_id(
    tmp_path: Path, own_database: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`afi worker`, a process of its own, is killed (SIGKILL) while the receiver holds one of
    its deliveries open. A new worker, once the dead one's lease is over, sends that event
    again with the same webhook-id and a valid signature; every other event arrives once."""
    from standardwebhooks.webhooks import Webhook as Verifier

    from app import clock
    from app.db import get_database
    from app.enums import Role
    from app.main import create_app
    from app.principal import system
    from app.services.reports import import_text
    from app.services.tokens import create_token
    from app.settings import get_settings
    from app.worker import Worker

    monkeypatch.setattr(get_settings(), "webhook_allow_private", True)
    with own_database.sessions.begin() as session:
        raw = SEED.read_text(encoding="utf-8")
        import_text(session=session, raw=raw, metadata={}, actor=system("tests"))
        _token, secret = create_token(session=session, name="admin", role=Role.ADMIN)
    application = create_app()
    application.dependency_overrides[get_database] = lambda: own_database
    api = TestClient(application, headers={"Authorization": f"Bearer {secret}"})
    made = api.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["action.comment_added"]}
    )
    assert made.status_code == 201, made.text
    hook = made.json()
    action = api.get("/api/v1/actions?limit=1").json()["items"][0]["id"]

    def comment(text: str) -> None:
        response = api.post(f"/api/v1/actions/{action}/comments", json={"comment": text})
        assert response.status_code == 201, response.text

    def log() -> list[dict[str, Any]]:
        response = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=100")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    for n in range(3):
        comment(f"before {n}")
    url = own_database.engine.url.render_as_string(hide_password=False)
    output = tmp_path / "worker.log"
    with output.open("wb") as stderr:
        worker = subprocess.Popen(
            [*AFI, "worker"], cwd=tmp_path, env=_service_env(tmp_path, url),
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        # Its passes are its own: the test waits for the receiver, up to a deadline.
        assert receiver.wait_for(3, timeout=60), output.read_text()
        # "Held" is claimed in a later pass than those three, so after they were recorded.
        held = receiver.hold(lambda request: '"comment":"Held"' in request.body)
        comment("Held")
        assert held.arrived.wait(60), output.read_text()
        worker.kill()
    finally:
        worker.kill()
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    held.released.set()
    at_kill = {item["message_id"]: item for item in log()}
    assert len(at_kill) == 4
    [in_flight] = [item for item in at_kill.values() if item["status"] == "pending"]
    assert [a["outcome"] for a in in_flight["attempt_log"]] == ["in_flight"]
    assert all(
        [a["outcome"] for a in item["attempt_log"]] == ["succeeded"]
        for item in at_kill.values()
        if item is not in_flight
    )

    for n in range(2):
        comment(f"after {n}")
    new_worker = Worker(sessions=own_database.sessions)
    try:
        assert new_worker.run_once().attempted == 2  # the dead worker's lease still holds
        lease_over = datetime.fromisoformat(in_flight["next_attempt_at"])
        monkeypatch.setattr(clock, "utcnow", lambda: lease_over)
        assert new_worker.run_once().attempted == 1
    finally:
        new_worker.close()

    final = {item["message_id"]: item for item in log()}
    assert len(final) == 6 and {item["status"] for item in final.values()} == {"succeeded"}
    assert [a["outcome"] for a in final[in_flight["message_id"]]["attempt_log"]] == [
        "abandoned",
        "succeeded",
    ]
    assert all(
        [a["outcome"] for a in item["attempt_log"]] == ["succeeded"]
        for message_id, item in final.items()
        if message_id != in_flight["message_id"]
    )
    assert Counter(receiver.ids()) == {
        message_id: 2 if message_id == in_flight["message_id"] else 1 for message_id in final
    }
    verifier = Verifier(hook["secret"])
    payloads = [verifier.verify(request.body, request.headers) for request in receiver.received]
    assert sorted(payload["data"]["comment"] for payload in payloads) == sorted(
        ["before 0", "before 1", "before 2", "Held", "Held", "after 0", "after 1"]
    )
    first, again = [
        request
        for request in receiver.received
        if request.headers["webhook-id"] == in_flight["message_id"]
    ]
    assert verifier.verify(again.body, again.headers) == verifier.verify(first.body, first.headers)


@pytest.fixture
def postgres() -> Iterator[Any]:
    """A fresh PostgreSQL database of the test's own, migrated; committed data is real."""
    from app.db import Database

    with fresh_database(POSTGRES_URL) as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        try:
            yield Database(engine)
        finally:
            engine.dispose()


def _queue(database: Any, url: str, events: int) -> None:
    """A webhook for action.created and `events` events, committed and sequenced."""
    from app import clock
    from app.models import OutboxEvent, Webhook
    from app.services import deliveries, event_feed

    now = clock.utcnow()
    with database.sessions.begin() as session:
        session.add(
            Webhook(
                url=url, secret="whsec_c2VjcmV0LXNlY3JldA==", events=["action.created"],
                created_at=now, created_by="tests",
            )
        )  # fmt: skip
        session.execute(
            insert(OutboxEvent),
            [
                {
                    "type": "action.created",
                    "created_at": now,
                    "payload": {"type": "action.created", "timestamp": "", "data": {"n": n}},
                }
                for n in range(events)
            ],
        )
    with database.sessions.begin() as session:
        ids = event_feed.sequence(session=session)
        deliveries.fan_out(session=session, event_ids=ids, now=datetime.now(UTC))


def test_two_claims_at_once_on_postgresql_take_different_deliveries(
    postgres: Any, receiver: Receiver
) -> None:
    """One worker's claim is not committed yet when the other's runs: SKIP LOCKED passes over
    its rows (without it the second would wait, and lock_timeout fail it), and neither
    claims what the other has."""
    from sqlalchemy import text

    from app import clock
    from app.services import deliveries

    _queue(postgres, receiver.url, 10)
    with Session(postgres.engine) as first, Session(postgres.engine) as second:
        mine = deliveries.claim(session=first, now=clock.utcnow(), limit=4)
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        theirs = deliveries.claim(session=second, now=clock.utcnow(), limit=100)
        first.commit()
        second.commit()
    assert len(mine) == 4 and len(theirs) == 6
    assert not {c.delivery_id for c in mine} & {c.delivery_id for c in theirs}


def test_two_workers_on_postgresql_deliver_every_attempt_exactly_once(
    postgres: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.models import WebhookAttempt, WebhookDelivery
    from app.settings import get_settings
    from app.worker import Worker

    monkeypatch.setattr(get_settings(), "webhook_allow_private", True)
    _queue(postgres, receiver.url, 120)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        worker = Worker(sessions=postgres.sessions)
        try:
            start.wait()
            while worker.run_once().attempted:
                pass
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _retry_until_done(postgres, monkeypatch)
    with Session(postgres.engine) as session:
        attempts = session.execute(
            select(WebhookDelivery.event_id, WebhookAttempt.number, WebhookAttempt.outcome).join(
                WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id
            )
        ).all()
        statuses = session.scalars(select(WebhookDelivery.status)).all()
    assert Counter(statuses) == {"succeeded": 120}
    # Every attempt was made by one worker only: each delivery's attempts are numbered once,
    # and the receiver got exactly one request per attempt that reached it.
    assert len({(event, number) for event, number, _ in attempts}) == len(attempts)
    assert all(outcome in ("succeeded", "failed") for _, _, outcome in attempts)
    received = Counter(receiver.ids())
    assert len(received) == 120
    assert received == Counter(
        f"evt_{event}" for event, _, outcome in attempts if outcome == "succeeded"
    )


def _retry_until_done(database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt that failed (a connection the receiver dropped) retried when due."""
    from app import clock
    from app.models import WebhookDelivery
    from app.worker import Worker

    worker = Worker(sessions=database.sessions)
    try:
        while True:
            with Session(database.engine) as session:
                due = session.scalar(
                    select(func.max(WebhookDelivery.next_attempt_at)).where(
                        WebhookDelivery.status == "pending"
                    )
                )
            if due is None:
                return
            monkeypatch.setattr(clock, "utcnow", lambda due=due: due)
            worker.run_once()
    finally:
        worker.close()
