"""Dump and restore: a round trip through both kinds of database loses nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from app.db import make_engine
from app.models import Action, Base
from app.services import dump as service
from tests.conftest import fresh_database
from tests.helpers import add_note, move

runner = CliRunner()
# The other kind of database for the round trip: PostgreSQL where CI provides one.
OTHER_URL = os.environ.get("AFI_TEST_POSTGRES_URL", "sqlite://")


@pytest.fixture
def busy_database(client: TestClient, client_as: Callable[..., TestClient], seeded: int) -> None:
    """Every table with rows in it, self-references and files included."""
    owner = client.post("/api/v1/owners", json={"name": "Ann", "team": "PVP"}).json()
    first, second, third = client.get("/api/v1/actions?limit=3").json()["items"]
    client.patch(
        f"/api/v1/actions/{first['id']}", json={"owner_id": owner["id"], "due_date": "2027-01-31"}
    )
    move(client, first["id"], "in_progress", comment=None)
    upload = client.post(
        f"/api/v1/actions/{first['id']}/evidence",
        files={"file": ("minutes.txt", b"minutes of the board", "text/plain")},
    )
    assert upload.status_code == 201
    move(client, first["id"], "pending_sign_off", comment=None)
    move(client_as("approver"), first["id"], "completed", comment=None)
    add_note(client, second["id"])
    move(client, third["id"], "superseded", comment="Merged", superseded_by_action_id=second["id"])
    client.post("/api/v1/tokens", json={"name": "ci", "role": "viewer", "owner_id": owner["id"]})
    _webhook_with_a_delivery()
    _day_figures_kept()


def _day_figures_kept() -> None:
    """The trend's figures of the days to today, and their groups (the worker keeps them once
    they have ended: kept as of two days on, so that a day with actions is)."""
    from app import clock
    from app.db import SessionLocal
    from app.worker import keep_all_day_figures

    later = clock.utcnow() + timedelta(days=2)
    assert keep_all_day_figures(sessions=SessionLocal, now=later) > 0


def _webhook_with_a_delivery() -> None:
    """A webhook subscription, a delivery of an event to it and that delivery's attempt; an
    e-mail digest."""
    from app import clock
    from app.db import SessionLocal
    from app.models import (
        MailDigest,
        OutboxEvent,
        Owner,
        Webhook,
        WebhookAttempt,
        WebhookDelivery,
    )

    now = clock.utcnow()
    with SessionLocal.begin() as session:
        event = session.scalars(select(OutboxEvent).limit(1)).one()
        hook = Webhook(
            url="https://hooks.example.org/afi",
            secret="whsec_c2VjcmV0",
            events=["action.created"],
            created_at=now,
            created_by="tests",
        )
        session.add(hook)
        session.flush()
        delivery = WebhookDelivery(
            webhook_id=hook.id,
            event_id=event.id,
            status="succeeded",
            attempts=1,
            retry_started_at=now,
            created_at=now,
            delivered_at=now,
        )
        session.add(delivery)
        session.flush()
        session.add(
            WebhookAttempt(delivery_id=delivery.id, number=1, outcome="succeeded", started_at=now)
        )
        owner = session.scalars(select(Owner).limit(1)).one()
        session.add(
            MailDigest(
                owner_id=owner.id,
                digest_date=now.date(),
                recipient="ann@example.org",
                subject="AFI Tracker",
                body_text="text",
                body_html="<p>html</p>",
                status="sent",
                attempts=1,
                created_at=now,
                sent_at=now,
            )
        )


_HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def _rows(path: Path) -> list[Any]:
    lines = path.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    assert header["format"] == "afi-dump" and header["revision"] == _HEAD
    return [orjson.loads(line) for line in lines[1:]]


def _restore_into(url: str, path: Path) -> Path:
    """Restore `path` into the empty database at `url`, then dump that database again."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            service.restore(connection=connection, path=path)
        again = path.with_name(path.stem + "-again.jsonl")
        with engine.connect() as connection:
            service.dump(connection=connection, path=again)
    finally:
        engine.dispose()
    return again


def test_round_trip_through_the_other_database_and_back_is_identical(
    busy_database: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    first = tmp_path / "first.jsonl"
    result = runner.invoke(cli, ["dump", str(first)])
    assert result.exit_code == 0, result.output
    rows = _rows(first)
    assert {r["table"] for r in rows} == set(Base.metadata.tables)
    assert service.evidence_archive(first).exists()

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "restored-data")
    with fresh_database(OTHER_URL) as other, fresh_database("sqlite://") as back:
        second = _restore_into(other, first)
        third = _restore_into(back, second)
        assert _rows(second) == rows
        assert _rows(third) == rows
    restored = list((tmp_path / "restored-data" / "blobs").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == b"minutes of the board" for p in restored)


def test_restored_database_keeps_working(busy_database: None, tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    runner.invoke(cli, ["dump", str(path)])
    with fresh_database(OTHER_URL) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with engine.begin() as connection:
            service.restore(connection=connection, path=path)
        with Session(engine) as session:
            count = session.scalar(select(func.count(Action.id)))
            finding = session.scalars(select(Action)).first()
            assert finding is not None
            session.add(
                Action(
                    finding_id=finding.finding_id, reference="NEW-1", title="t", description="d",
                    status="open", priority="low", priority_rank=0,
                    created_at=finding.created_at, updated_at=finding.created_at,
                )
            )  # fmt: skip
            session.commit()  # new ids continue after the restored ones
            assert session.scalar(select(func.count(Action.id))) == (count or 0) + 1
        engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(busy_database: None, tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    runner.invoke(cli, ["dump", str(path)])
    result = runner.invoke(cli, ["restore", str(path)])
    assert result.exit_code == 2
    assert "not empty" in result.stderr


def test_a_bad_dump_stores_nothing(busy_database: None, tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    runner.invoke(cli, ["dump", str(path)])
    lines = path.read_bytes().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join([*lines[:40], b"{not json", *lines[40:]]))
    with fresh_database("sqlite://") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with pytest.raises(Exception, match="not JSON"), engine.begin() as connection:
            service.restore(connection=connection, path=broken)
        with engine.connect() as connection:
            assert (
                connection.scalar(select(func.count()).select_from(Base.metadata.tables["report"]))
                == 0
            )
        engine.dispose()
    not_a_dump = tmp_path / "other.jsonl"
    not_a_dump.write_text('{"hello": 1}\n')
    assert runner.invoke(cli, ["restore", str(not_a_dump)]).exit_code == 2


@pytest.fixture
def seed_dump(tmp_path: Path) -> Path:
    """A dump of a database that holds only the seed report, made apart from the test database."""
    from app.principal import system
    from app.services.reports import import_text
    from tests.conftest import SEED

    path = tmp_path / "dump.jsonl"
    with fresh_database("sqlite://") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as other, other.begin():
            import_text(session=other, raw=SEED.read_text(), metadata={}, actor=system("t"))
        with engine.connect() as connection:
            service.dump(connection=connection, path=path)
        engine.dispose()
    return path


def test_restore_into_the_empty_test_database_with_the_cli(
    seed_dump: Path, session: Session
) -> None:
    result = runner.invoke(cli, ["restore", str(seed_dump)])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count(Action.id))) == 17


def _edit_first_row(path: Path, table: str, **changes: Any) -> int:
    """Changes the first row of `table` in the dump at `path`; returns its line number."""
    lines = path.read_bytes().splitlines()
    for index, line in enumerate(lines):
        record = orjson.loads(line)
        if record.get("table") == table:
            record["row"].update(changes)
            lines[index] = orjson.dumps(record)
            path.write_bytes(b"\n".join(lines) + b"\n")
            return index + 1
    raise AssertionError(f"no {table} row in the dump")


@pytest.mark.parametrize(
    ("table", "changes", "message"),
    [
        ("action", {"created_at": "yesterday"}, "action.created_at is not an ISO datetime"),
        ("action", {"due_date": "31/01/2027"}, "action.due_date is not an ISO date"),
        ("action", {"colour": "red"}, "unknown columns for table action"),
        ("action", {"finding_id": 999_999}, "Rows of table action do not fit the schema"),
        ("action", {"title": None}, "Rows of table action do not fit the schema"),
        ("action", {"title": ["a", "list"]}, "action.title is not text"),
        ("action", {"title": "x" * 10_000}, "action.title is longer than"),
        ("action", {"version": True}, "action.version is not an integer"),
    ],
)
def test_a_dump_with_bad_rows_is_refused_by_line_and_stores_nothing(
    seed_dump: Path, session: Session, table: str, changes: dict[str, Any], message: str
) -> None:
    line = _edit_first_row(seed_dump, table, **changes)
    result = runner.invoke(cli, ["restore", str(seed_dump)])
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert message in said
    if "schema" not in message:  # refused while reading, so the line is known
        assert f"Line {line}:" in said
    assert session.scalar(select(func.count(Action.id))) == 0


def _edit_header(path: Path, **changes: Any) -> None:
    header, rest = path.read_bytes().split(b"\n", 1)
    path.write_bytes(orjson.dumps({**orjson.loads(header), **changes}) + b"\n" + rest)


def test_a_timestamp_without_an_offset_restores_as_utc(seed_dump: Path, session: Session) -> None:
    # As a dump made from a 0004 SQLite database, whose timestamps had no offset.
    _edit_first_row(seed_dump, "action", created_at="2026-01-02T03:04:05.000006")
    result = runner.invoke(cli, ["restore", str(seed_dump)])
    assert result.exit_code == 0, result.output
    first = session.scalars(select(Action).order_by(Action.id)).first()
    assert first is not None
    assert first.created_at == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert session.scalar(select(func.count(Action.id))) == 17


def test_a_dump_from_before_a_change_of_tables_is_refused(
    seed_dump: Path, session: Session
) -> None:
    _edit_header(seed_dump, revision="0003")  # 0004 added an index
    result = runner.invoke(cli, ["restore", str(seed_dump)])
    assert result.exit_code == 2, result.output
    assert "schema revision 0003" in " ".join(result.stderr.split())
    assert session.scalar(select(func.count(Action.id))) == 0


@pytest.mark.parametrize(
    ("older", "newer", "same"),
    [
        ("0005", "0005", True),
        ("0004", "0005", True),  # 0005 changes how SQLite stores timestamps, nothing else
        ("0004", "0006", False),  # 0006 adds action.report_id
        ("0005", "0006", False),
        ("0006", "0007", True),  # 0007 adds the search index, which dumps leave out
        ("0005", "0007", False),
        ("0003", "0005", False),
        ("0003", "0004", False),
        ("0005", "0004", False),
        (None, "0005", False),
        ("0005", None, False),
    ],
)
def test_which_revisions_have_the_same_tables(
    older: str | None, newer: str | None, same: bool
) -> None:
    assert migrate.same_tables(older, newer) is same


def test_dump_and_restore_report_their_progress_and_end_with_one_line(
    busy_database: None, tmp_path: Path
) -> None:
    from app.db import database

    path = tmp_path / "progress.jsonl"
    dumped: list[tuple[int, int]] = []
    with database.reader(snapshot=True) as connection:
        summary = service.dump(connection=connection, path=path, progress=_record(dumped))
    rows = sum(summary.rows.values())
    assert dumped[0] == (0, rows) and dumped[-1] == (rows, rows)
    with fresh_database("sqlite://") as other:
        engine = make_engine(other)
        migrate.upgrade(other)
        restored: list[tuple[int, int]] = []
        with engine.begin() as connection:
            service.restore(connection=connection, path=path, progress=_record(restored))
        engine.dispose()
    size = path.stat().st_size
    assert restored[-1] == (size, size)
    # Not a terminal: no progress bar, one summary line.
    result = runner.invoke(cli, ["dump", str(tmp_path / "again.jsonl")])
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"Wrote {rows} rows and {summary.files} evidence files to {tmp_path / 'again.jsonl'}."
    ]


def _record(calls: list[tuple[int, int]]) -> Callable[[int, int], None]:
    return lambda done, total: calls.append((done, total))
