"""PostgreSQL stopped, restarted and frozen under a real server (issue 13, items 1 and 5).

The cluster is the test's own: made by initdb in a temporary folder, on a free port, and run
as the user `postgres` when the tests run as root. The shared server is never touched. Runs
in the SQLite and the PostgreSQL runs of the suite alike."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults_support import assert_unavailable, prepare, server_env, until
from tests.live_server import free_port, served

CONNECT_TIMEOUT, STATEMENT_TIMEOUT, READY_TIMEOUT = 2, 2, 1


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is needed (/usr/lib/postgresql/*/bin)"
    return found[-1]


class Cluster:
    """A PostgreSQL cluster of the test's own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.as_postgres: tuple[str, ...] = ()
        if os.geteuid() == 0:  # initdb refuses root
            shutil.chown(folder, "postgres", "postgres")
            self.as_postgres = ("runuser", "-u", "postgres", "--")

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_postgres, *command], check=True, capture_output=True, text=True
        )

    def init(self) -> None:
        self.run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "--no-sync", "-E", "UTF8")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                 str(self.folder / "postgres.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self.run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(Path(stat).parent.name))
        return [postmaster, *children]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="afi-pg-faults-"))
    own = Cluster(folder)
    own.init()
    own.start()
    try:
        own.run(_bin("createdb"), "-h", "127.0.0.1", "-p", str(own.port), "-U", "postgres", "afi")
        yield own
    finally:
        if (own.data / "postmaster.pid").exists():
            for pid in own.processes():
                os.kill(pid, signal.SIGCONT)
            own.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def service(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("pg-faults")
    url = cluster.url("afi")
    token = prepare(url)
    env = server_env(
        url,
        folder,
        db_connect_timeout_seconds=str(CONNECT_TIMEOUT),
        db_statement_timeout_seconds=str(STATEMENT_TIMEOUT),
        ready_timeout_seconds=str(READY_TIMEOUT),
    )
    log = folder / "server.log"
    with (
        served(env, log.parent, log=log) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client,
    ):
        yield client, log


def _writes_work(client: httpx.Client) -> bool:
    return client.post("/api/v1/owners", json={"name": "probe"}).status_code == 201


class _Load:
    """Light load from another thread: a read and a write after another, answers counted."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.answers: list[httpx.Response] = []
        self._stop = threading.Event()
        self._more = threading.Condition()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            for answer in (
                self.client.get("/api/v1/owners?limit=5"),
                self.client.post("/api/v1/owners", json={"name": f"L{i}"}),
            ):
                with self._more:
                    self.answers.append(answer)
                    self._more.notify_all()

    def wait_for(self, count: int, *, seconds: float) -> None:
        with self._more:
            assert self._more.wait_for(lambda: len(self.answers) >= count, timeout=seconds), (
                f"{len(self.answers)} answers, not {count}, within {seconds} s"
            )

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def test_stopped_and_restarted_under_load(cluster: Cluster, service: Any) -> None:
    client, log = service
    assert _writes_work(client)
    with _Load(client) as load:
        load.wait_for(10, seconds=10)
        cluster.stop()
        down = len(load.answers)
        load.wait_for(down + 20, seconds=20)
        # Everything asked while the database was down (after the first answers, which may
        # have been on their way when it stopped) is a 503 problem saying so.
        during = load.answers[down + 2 : down + 20]
        ready = client.get("/ready")
        cluster.start()
        up = until(lambda: _writes_work(client), seconds=15, what="writes after the restart")
        assert up
        after = len(load.answers)
        load.wait_for(after + 10, seconds=10)
    for response in during:
        assert_unavailable(response, "database-unavailable")
    assert_unavailable(ready, "database-unavailable")
    # No 500 at any time; once restarted, everything works again without restarting the service.
    assert 500 not in Counter(r.status_code for r in load.answers)
    assert {r.status_code for r in load.answers[after + 2 :]} <= {200, 201}
    assert client.get("/ready").json() == {"status": "ready"}
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    # One line when it began and one when it ended, not one per request.
    assert text.count("database-unavailable: ") == 1, text
    assert text.count("database-unavailable over after") == 1, text


def test_frozen_database_gets_answers_within_the_deadlines(cluster: Cluster, service: Any) -> None:
    client, log = service
    assert _writes_work(client)
    frozen = cluster.processes()
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        ready = client.get("/ready")
        ready_took = time.monotonic() - started
        started = time.monotonic()
        write = client.post("/api/v1/owners", json={"name": "Frozen"})
        write_took = time.monotonic() - started
        started = time.monotonic()
        read = client.get("/api/v1/owners?limit=5")
        read_took = time.monotonic() - started
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert_unavailable(ready, "database-timeout")
    assert ready_took < READY_TIMEOUT + 1
    # A pooled connection's check given up after the connect timeout, then a new connection
    # after another: no request waits longer, whatever the statement timeout.
    limit = 2 * CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 2
    assert_unavailable(write, "database-timeout", "database-unavailable")
    assert write_took < limit
    assert_unavailable(read, "database-timeout", "database-unavailable")
    assert read_took < limit
    # Thawed, it works again without restarting the service.
    until(lambda: _writes_work(client), seconds=15, what="writes after the thaw")
    assert client.get("/ready").json() == {"status": "ready"}
    assert "Traceback" not in log.read_text()
