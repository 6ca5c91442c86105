"""A SQLite file made read-only and writable again, under a real server: writes are 503
database-read-only and /ready is 503 while it lasts; after it every write works again, with
no connection left that opened the file read-only (issue 13, item 3).

The tests run as root in CI, and root writes to a read-only file all the same: the server then
runs without the capabilities that let root ignore file permissions (setpriv)."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.faults_support import assert_unavailable, prepare, server_env
from tests.live_server import served


def _as_ordinary_user() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run the server without root's overrides"
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


def _chmod(database: Path, mode: int) -> None:
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            path.chmod(mode)


def test_a_read_only_database_file_then_writable_again(tmp_path: Path) -> None:
    database = tmp_path / "afi.db"
    env = server_env(f"sqlite:///{database}", tmp_path, max_concurrent_sessions="8")
    token = prepare(env["AFI_DATABASE_URL"])
    _chmod(database, 0o444)
    with served(env, tmp_path, log=tmp_path / "server.log", prefix=_as_ordinary_user()) as base:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            # Started on a read-only file: reads work, writes and /ready say why they do not.
            assert client.get("/api/v1/owners").status_code == 200
            assert_unavailable(client.post("/api/v1/owners", json={"name": "A"}),
                               "database-read-only")  # fmt: skip
            assert_unavailable(client.get("/ready"), "database-read-only")

            # Many connections opened meanwhile, every one of them on the read-only file.
            def read(_: int) -> int:
                return client.get("/api/v1/actions?limit=5").status_code

            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(read, range(32))) == {200}
            assert_unavailable(client.post("/api/v1/owners", json={"name": "B"}),
                               "database-read-only")  # fmt: skip

            _chmod(database, 0o644)
            assert client.get("/ready").json() == {"status": "ready"}

            def write(i: int) -> int:
                return client.post("/api/v1/owners", json={"name": f"Owner {i}"}).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(write, range(48)))
            assert statuses == [201] * 48
            assert len(client.get("/api/v1/owners?limit=100").json()["items"]) == 48
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log
    assert log.count("database-read-only: ") == 1, log
