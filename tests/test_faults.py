"""Faults of the database and the disk met in the process: what clients get (503 with a type
per cause and Retry-After, 507 for a full disk), what the log gets (a line per incident), and
/ready's deadline. Real servers going down: test_faults_postgres.py, test_faults_sqlite.py."""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import InternalError, OperationalError

from app import db_faults
from tests.helpers import assert_problem

URN = "urn:afi:problem:"


@pytest.fixture(autouse=True)
def _no_incident_left() -> Any:
    db_faults.incidents.recovered(wrote=True)
    yield
    db_faults.incidents.recovered(wrote=True)


@pytest.mark.parametrize(
    ("driver_error", "slug"),
    [
        (sqlite3.OperationalError("database is locked"), "database-busy"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "database-read-only"),
        (sqlite3.OperationalError("database or disk is full"), "database-full"),
        (sqlite3.OperationalError("unable to open database file"), "database-unavailable"),
        (sqlite3.OperationalError("disk I/O error"), "database-unavailable"),
        (psycopg.errors.AdminShutdown("terminating connection"), "database-unavailable"),
        (psycopg.errors.CannotConnectNow("the database system is starting up"),
         "database-unavailable"),
        (psycopg.OperationalError("connection failed: Connection refused"),
         "database-unavailable"),
        (psycopg.OperationalError("connection timeout expired"), "database-timeout"),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
         "database-timeout"),
        (psycopg.errors.DiskFull("could not extend file"), "database-full"),
        (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), "database-read-only"),
    ],
)  # fmt: skip
def test_a_write_the_database_refuses_is_a_503_naming_the_cause(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, driver_error: Exception, slug: str
) -> None:
    from sqlalchemy.orm import Session

    error_class = InternalError if slug == "database-read-only" else OperationalError

    def refused(self: Session, *_: Any, **__: Any) -> None:
        raise error_class("INSERT INTO owners ...", {}, driver_error)

    monkeypatch.setattr(Session, "flush", refused)
    response = client.post("/api/v1/owners", json={"name": "Nobody"})
    body = assert_problem(response, 503)
    assert body["type"] == URN + slug
    assert int(response.headers["retry-after"]) >= 1


def test_an_error_at_commit_is_a_503_and_nothing_is_stored(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm import Session

    real_commit = Session.commit

    def full(self: Session) -> None:
        if self.info.get("wrote"):
            raise OperationalError(
                "COMMIT", {}, sqlite3.OperationalError("database or disk is full")
            )
        real_commit(self)

    monkeypatch.setattr(Session, "commit", full)
    body = assert_problem(client.post("/api/v1/owners", json={"name": "Lost"}), 503)
    assert body["type"] == URN + "database-full"
    monkeypatch.setattr(Session, "commit", real_commit)
    assert client.get("/api/v1/owners").json()["items"] == []


def test_one_log_line_per_incident_not_per_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.orm import Session

    real_flush = Session.flush

    def read_only(self: Session, *_: Any, **__: Any) -> None:
        readonly = sqlite3.OperationalError("attempt to write a readonly database")
        raise OperationalError("INSERT", {}, readonly)

    caplog.set_level(logging.INFO)
    # Reads still work (each request reads its token): the incident lasts until a write works.
    monkeypatch.setattr(Session, "flush", read_only)
    for i in range(20):
        assert_problem(client.post("/api/v1/owners", json={"name": f"O{i}"}), 503)
    monkeypatch.setattr(Session, "flush", real_flush)
    assert client.post("/api/v1/owners", json={"name": "Back"}).status_code == 201
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database-read-only: OperationalError: attempt to write")
    assert lines[1].startswith("database-read-only over after") and "20 requests" in lines[1]
    assert not any(r.exc_info for r in caplog.records)


def test_a_csv_export_the_database_fails_at_once_is_a_503_problem(
    client: TestClient, seeded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import csv_export

    def down(**_: Any) -> Any:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("disk I/O error"))
        yield  # a generator, as the real one

    monkeypatch.setattr(csv_export, "iter_row_batches", down)
    body = assert_problem(client.get("/api/v1/actions?format=csv"), 503)
    assert body["type"] == URN + "database-unavailable"


def test_ready_answers_503_within_its_deadline_when_the_database_does_not_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import health
    from app.settings import get_settings

    release = threading.Event()

    def frozen(**_: Any) -> None:
        release.wait(30)

    monkeypatch.setattr(get_settings(), "ready_timeout_seconds", 0.5)
    monkeypatch.setattr(health, "check_database", frozen)
    started = time.monotonic()
    try:
        response = client.get("/ready")
    finally:
        release.set()
    assert time.monotonic() - started < 3
    assert assert_problem(response, 503)["type"] == URN + "database-timeout"
    assert "retry-after" in response.headers


def test_ready_is_503_when_the_database_refuses_writes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import Connection

    assert client.get("/ready").json() == {"status": "ready"}

    def refusing(real: Any) -> Any:
        def call(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
            if "user_version =" in str(statement) or "pg_is_in_recovery" in str(statement):
                readonly = sqlite3.OperationalError("attempt to write a readonly database")
                raise OperationalError(str(statement), {}, readonly)
            return real(self, statement, *args, **kwargs)

        return call

    monkeypatch.setattr(Connection, "exec_driver_sql", refusing(Connection.exec_driver_sql))
    monkeypatch.setattr(Connection, "execute", refusing(Connection.execute))
    body = assert_problem(client.get("/ready"), 503)
    assert body["type"] == URN + "database-read-only"


class _FullDisk:
    """A file whose disk fills up after `room` bytes."""

    def __init__(self, file: Any, room: int) -> None:
        self._file, self._room = file, room

    def write(self, data: bytes) -> int:
        self._room -= len(data)
        if self._room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self._file.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@pytest.mark.parametrize("room", [0, 100_000])
def test_an_upload_that_fills_the_disk_is_a_507_and_leaves_nothing(
    client: TestClient, action_id: int, data_dir: Path, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    import os

    from app.services import storage

    real_fdopen = os.fdopen
    monkeypatch.setattr(storage.os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k), room))
    response = client.post(
        f"/api/v1/actions/{action_id}/evidence",
        files={"file": ("big.bin", b"x" * 300_000, "application/octet-stream")},
    )
    body = assert_problem(response, 507)
    assert body["type"] == URN + "insufficient-storage"
    assert [p for p in data_dir.rglob("*") if p.is_file()] == []
    monkeypatch.setattr(storage.os, "fdopen", real_fdopen)
    assert client.get(f"/api/v1/actions/{action_id}/evidence").json()["items"] == []


def test_a_full_disk_when_syncing_the_upload_is_a_507(
    client: TestClient, action_id: int, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import storage

    def no_space(_fd: int) -> None:
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(storage.os, "fsync", no_space)
    response = client.post(
        f"/api/v1/actions/{action_id}/evidence",
        files={"file": ("a.txt", b"hello", "text/plain")},
    )
    assert_problem(response, 507)
    assert [p for p in data_dir.rglob("*") if p.is_file()] == []
