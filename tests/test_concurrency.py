"""The service under a burst of concurrent requests, served by uvicorn on loopback.

The other tests share one connection and transaction; this one runs the real thing: its own
database, its own process, many requests at once."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, fresh_database
from tests.live_server import served

CLI = [sys.executable, "-c", "from app.cli import main; main()"]


@pytest.fixture
def server(base_database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with fresh_database(base_database_url) as url:
        env = {
            **os.environ,
            "AFI_DATABASE_URL": url,
            "AFI_SEEDS_DIR": str(ROOT / "seeds"),
            "AFI_DATA_DIR": str(tmp_path / "data"),
            # Fewer sessions than concurrent requests, so that requests must queue for one.
            "AFI_MAX_CONCURRENT_SESSIONS": "4",
        }
        subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([*CLI, "seed"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [*CLI, "token", "create", "--name", "burst", "--role", "admin"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        with served(env, tmp_path) as base:
            yield base, token


async def _burst(base: str, token: str) -> dict[str, list[httpx.Response]]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as c:
        first = (await c.get("/api/v1/actions?limit=1")).json()["items"][0]
        url = f"/api/v1/actions/{first['id']}"
        calls = {
            "list": [c.get("/api/v1/actions?limit=50") for _ in range(40)],
            "stats": [c.get("/api/v1/stats?group_by=status") for _ in range(5)],
            "extra": [
                c.post("/api/v1/actions", json={"finding_id": first["finding_id"]})
                for _ in range(12)
            ],
            "patch": [c.patch(url, json={"progress_note": f"note {i}"}) for i in range(12)],
            "owners": [c.post("/api/v1/owners", json={"name": f"Owner {i}"}) for i in range(8)],
        }
        names = list(calls)
        results = await asyncio.gather(*(asyncio.gather(*calls[name]) for name in names))
        return dict(zip(names, results, strict=True))


def test_a_burst_of_reads_and_writes_gets_no_server_error(server: tuple[str, str]) -> None:
    base, token = server
    results = asyncio.run(_burst(base, token))
    statuses = {name: Counter(r.status_code for r in rs) for name, rs in results.items()}
    assert statuses["list"] == Counter({200: 40})
    assert statuses["stats"] == Counter({200: 5})
    assert statuses["owners"] == Counter({201: 8})
    # Extra actions on one finding are numbered one after another, never twice the same.
    assert statuses["extra"] == Counter({201: 12})
    references = [r.json()["reference"] for r in results["extra"]]
    assert len(set(references)) == 12
    # Concurrent edits without If-Match either land or are told they conflicted.
    assert set(statuses["patch"]) <= {200, 409} and statuses["patch"][200] >= 1
    with httpx.Client(base_url=base) as client:
        assert client.get("/health").status_code == 200


def test_a_slow_upload_does_not_hold_up_other_writers(server: tuple[str, str]) -> None:
    base, token = server
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as slow:
        # A report whose body is announced but never finishes arriving.
        slow.sendall(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n".encode()
            + b"Kent PEEL 2017\n"
        )
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            assert client.post("/api/v1/owners", json={"name": "Quick"}).status_code == 201


async def _overlapping_bulk_updates(
    base: str, token: str, *, clients: int, rounds: int
) -> tuple[dict[int, int], list[httpx.Response], dict[int, int]]:
    """`clients` clients at once, each sending `rounds` bulk updates of overlapping sets of
    actions (each set in its own order). Returns the versions before, every answer, and how
    many updates each action was sent."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        items = (await c.get("/api/v1/actions?limit=12&sort=id")).json()["items"]
        before = {item["id"]: item["version"] for item in items}
        ids = sorted(before)
        sent: Counter[int] = Counter()

        async def one_client(number: int) -> list[httpx.Response]:
            answers = []
            for round_ in range(rounds):
                # Windows that overlap their neighbours', half of them backwards.
                window = [ids[(number * 3 + k) % len(ids)] for k in range(6)]
                if (number + round_) % 2:
                    window.reverse()
                sent.update(window)
                # A due date of this update's own, so that it changes every action it names.
                due = date(2030, 1, 1) + timedelta(days=number * rounds + round_)
                change = {"due_date": due.isoformat(), "due_date_reason": "Re-planned"}
                body = {"action_ids": window, "set": change}
                answers.append(await c.post("/api/v1/actions/bulk", json=body))
            return answers

        results = await asyncio.gather(*(one_client(n) for n in range(clients)))
        return before, [r for answers in results for r in answers], dict(sent)


def test_overlapping_bulk_updates_all_land_and_count_every_version(
    server: tuple[str, str],
) -> None:
    """Lock contention between concurrent bulk updates is the service's to resolve (rows
    locked in one order, what remains retried): every client gets 200, and each action's
    version went up once per update that included it."""
    base, token = server
    before, answers, sent = asyncio.run(_overlapping_bulk_updates(base, token, clients=8, rounds=4))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == Counter({200: 32}), [r.text for r in answers if r.status_code != 200][:3]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        for action_id, version in before.items():
            now = client.get(f"/api/v1/actions/{action_id}").json()
            assert now["version"] == version + sent.get(action_id, 0), action_id
            history = client.get(f"/api/v1/actions/{action_id}/history?limit=200").json()
            # The first due date an action is given is an update, each later one a revision.
            kinds = ("updated", "due_date_revised")
            updates = [e for e in history["items"] if e["kind"] in kinds]
            assert len(updates) == sent.get(action_id, 0)
