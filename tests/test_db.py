"""app.db outside the test transaction: SQLite's BEGIN under a held lock, and the Database's
reads on connections of their own (the rest of the suite joins one test connection)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

import app.db as app_db
from app.custom_plans import CUSTOM_PLAN


def test_a_busy_sqlite_database_raises_sqlalchemys_error_and_readers_still_read(
    tmp_path: Path,
) -> None:
    # SQLAlchemy's OperationalError is what the API answers with 503; the driver's own
    # sqlite3.OperationalError would be a 500.
    path = tmp_path / "busy.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    event.listen(engine, "connect", app_db._sqlite_pragmas)
    event.listen(engine, "begin", app_db._sqlite_begin)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with engine.connect() as writer, pytest.raises(OperationalError, match="locked"):
            writer.begin()
        readers = engine.execution_options(**{app_db.DEFERRED: True})
        with readers.connect() as reader, reader.begin():
            assert reader.scalar(text("SELECT count(*) FROM item")) == 0
    finally:
        holder.close()
        engine.dispose()


@pytest.fixture
def production_database() -> app_db.Database:
    """The service's own Database on the test database's engine, outside the test transaction."""
    return app_db.Database(app_db.engine)


def test_run_read_runs_in_a_transaction_of_its_own_and_leaves_no_connection_behind(
    production_database: app_db.Database,
) -> None:
    checked_out = app_db.engine.pool.checkedout()
    seen: list[Connection] = []

    def query(*, db: Connection, value: int) -> int:
        assert db.in_transaction()
        seen.append(db)
        return int(db.scalar(text("SELECT :value"), {"value": value}))

    def failing(*, db: Connection) -> None:
        db.execute(text("SELECT 1"))
        raise LookupError("gone")

    async def reads() -> None:
        assert await production_database.run_read(query, value=7) == 7
        with pytest.raises(LookupError):
            await production_database.run_read(failing)
        assert await production_database.run_read(query, value=8) == 8

    asyncio.run(reads())
    # Each read's connection is back in the pool once it returns, error or not.
    assert all(connection.closed for connection in seen)
    assert app_db.engine.pool.checkedout() == checked_out


def test_a_heavy_read_leaves_the_event_loop_free_for_other_requests(
    production_database: app_db.Database,
) -> None:
    # The read cannot finish until the event loop has run something else: were it run on the
    # loop, the loop could not, and the read would time out.
    loop_ran = threading.Event()

    def long_read(*, db: Connection) -> bool:
        db.execute(text("SELECT 1"))
        return loop_ran.wait(timeout=10)

    async def meanwhile() -> None:
        loop_ran.set()

    async def both() -> bool:
        read = asyncio.create_task(production_database.run_heavy_read(long_read))
        await asyncio.create_task(meanwhile())
        return await read

    assert asyncio.run(both()) is True


# Far past the loop's budget of SQLite steps: a million rows made and counted.
_LONG = text(
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000) "
    "SELECT count(*) FROM n"
)


def test_a_read_that_runs_past_the_loops_budget_finishes_in_a_worker_thread(
    production_database: app_db.Database,
) -> None:
    ran_in: dict[str, list[int]] = {"short": [], "long": []}

    def read(*, db: Connection, kind: str) -> int:
        result = int(db.scalar(_LONG if kind == "long" else text("SELECT 7")) or 0)
        ran_in[kind].append(threading.get_ident())
        return result

    async def reads() -> tuple[int, int, int]:
        loop_thread = threading.get_ident()
        short = await production_database.run_read(read, kind="short")
        long = await production_database.run_read(read, kind="long")
        return short, long, loop_thread

    checked_out = production_database.engine.pool.checkedout()
    short, long, loop_thread = asyncio.run(reads())
    assert (short, long) == (7, 1_000_000)
    # The interrupted connection went back to the pool.
    assert production_database.engine.pool.checkedout() == checked_out
    # On SQLite a short read runs on the loop; a long one is interrupted there and finishes in
    # a thread (so it ran once, to its end, off the loop). PostgreSQL reads go to a thread.
    on_sqlite = production_database.dialect == "sqlite"
    assert (ran_in["short"] == [loop_thread]) is on_sqlite
    assert len(ran_in["long"]) == 1 and ran_in["long"][0] != loop_thread


def test_reads_never_take_sqlites_write_lock(tmp_path: Path) -> None:
    # Reads begin DEFERRED: a writer holding the lock does not hold them up.
    production_database = app_db.Database(app_db.make_engine(f"sqlite:///{tmp_path / 'r.db'}"))
    with production_database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))

    def count(*, db: Connection) -> int:
        return int(db.scalar(text("SELECT count(*) FROM item")) or 0)

    path = production_database.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO item DEFAULT VALUES")
        assert asyncio.run(production_database.run_read(count)) == 0
    finally:
        holder.rollback()
        holder.close()
        production_database.engine.dispose()


def test_heavy_reads_take_turns_while_other_reads_go_on(
    production_database: app_db.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_concurrent_heavy_reads", 1)
    started: list[str] = []
    first_started, release = threading.Event(), threading.Event()

    def heavy(*, db: Connection, name: str) -> str:
        started.append(name)
        first_started.set()
        assert release.wait(timeout=10)
        return name

    def cheap(*, db: Connection) -> list[str]:
        return list(started)

    async def scenario() -> None:
        first = asyncio.create_task(production_database.run_heavy_read(heavy, name="first"))
        second = asyncio.create_task(production_database.run_heavy_read(heavy, name="second"))
        assert await asyncio.to_thread(first_started.wait, 10)
        # The second heavy read waits for the first; a cheap read does not wait for either.
        assert await production_database.run_read(cheap) == ["first"]
        release.set()
        assert (await first, await second) == ("first", "second")

    asyncio.run(scenario())
    assert started == ["first", "second"]


def test_an_export_is_made_chunk_by_chunk_in_worker_threads(
    production_database: app_db.Database,
) -> None:
    loop_thread = threading.get_ident()
    made_in: list[int] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"a", b"b", b"c"):
            made_in.append(threading.get_ident())
            yield chunk

    async def collect() -> list[bytes]:
        return [chunk async for chunk in production_database.stream_heavy(chunks())]

    assert asyncio.run(collect()) == [b"a", b"b", b"c"]
    assert len(made_in) == 3 and loop_thread not in made_in


class _PausedExport:
    """Chunks "a", "b", "c": "b" is made only once `release` is set (`making` says it has
    begun), and each chunk after "a" is noted in `made` as it is made."""

    def __init__(self) -> None:
        self.making, self.release = threading.Event(), threading.Event()
        self.made: list[bytes] = []

    def chunks(self) -> Iterator[bytes]:
        yield b"a"
        self.making.set()
        self.release.wait(10)
        for chunk in (b"b", b"c"):
            self.made.append(chunk)
            yield chunk


def test_an_export_makes_its_next_chunk_while_one_is_sent_and_finishes_it_when_left(
    production_database: app_db.Database,
) -> None:
    export = _PausedExport()

    async def scenario() -> None:
        making, release = export.making, export.release
        stream = production_database.stream_heavy(export.chunks())
        assert await anext(stream) == b"a"
        # "b" is being made while "a" is still with the client.
        assert await asyncio.to_thread(making.wait, 10)
        closing = asyncio.create_task(stream.aclose())  # the client goes away
        await asyncio.sleep(0)
        assert not closing.done()  # waits for the chunk in the making, not past it
        release.set()
        await closing

    asyncio.run(scenario())
    assert export.made == [b"b"]


def test_an_export_cancelled_while_its_chunk_is_made_waits_for_that_chunk(
    production_database: app_db.Database,
) -> None:
    export = _PausedExport()

    async def scenario() -> None:
        making, release, made = export.making, export.release, export.made
        stream = production_database.stream_heavy(export.chunks())
        assert await anext(stream) == b"a"
        sending = asyncio.create_task(anext(stream))  # the response waits for "b"
        assert await asyncio.to_thread(making.wait, 10)
        sending.cancel()  # the client goes away: Starlette cancels the response's task
        for _ in range(5):  # turns of the loop, for the cancellation to reach the stream
            await asyncio.sleep(0)
        assert not sending.done()  # it waits for the chunk in the making
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await sending
        # The chunk's thread finished before the stream let go of its turn: not left running,
        # out of the heavy reads' count.
        assert made == [b"b"]
        assert production_database._limiter(app_db._HEAVY_READS).borrowed_tokens == 0

    asyncio.run(scenario())


def test_an_error_within_the_loops_budget_is_not_run_again(
    production_database: app_db.Database,
) -> None:
    calls: list[int] = []

    def broken(*, db: Connection) -> None:
        calls.append(1)
        db.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError, match="no_such_table"):
        asyncio.run(production_database.run_read(broken))
    assert calls == [1]


def test_heavy_reads_see_one_snapshot(production_database: app_db.Database) -> None:
    def isolation(*, db: Connection) -> str:
        return str(db.get_isolation_level())

    async def levels() -> tuple[str, str]:
        heavy = await production_database.run_heavy_read(isolation)
        light = await production_database.run_read(isolation)
        return heavy, light

    heavy, light = asyncio.run(levels())
    if production_database.dialect == "postgresql":
        assert (heavy, light) == ("REPEATABLE READ", "READ COMMITTED")
    else:  # a SQLite read transaction in WAL mode is a snapshot already
        assert heavy == light == "SERIALIZABLE"


def test_a_statement_marked_custom_plan_is_planned_for_its_values_every_time(
    production_database: app_db.Database,
) -> None:
    # psycopg prepares a statement once it has run five times (PostgreSQL may then settle on a
    # generic plan for every value); a statement marked CUSTOM_PLAN is never prepared.
    marked, plain = text("SELECT :value AS marked_probe"), text("SELECT :value AS plain_probe")
    custom = {CUSTOM_PLAN: True}
    with production_database.reader() as connection:
        for value in range(12):
            assert connection.scalar(marked, {"value": value}, execution_options=custom) == value
            assert connection.scalar(plain, {"value": value}) == value
        streamed = connection.execution_options(stream_results=True, **custom)
        assert streamed.execute(marked, {"value": 7}).scalar_one() == 7
        if production_database.dialect == "postgresql":
            prepared = connection.scalars(text("SELECT statement FROM pg_prepared_statements"))
            assert [s for s in prepared if "_probe" in s] == ["SELECT $1 AS plain_probe"]


def test_postgresql_sessions_run_in_utc_with_the_statement_timeout_and_without_jit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # JIT would compile plans estimated dear (seeks by the thousand) for longer than they run.
    import psycopg

    asked: list[dict[str, Any]] = []

    def refused(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs)
        raise psycopg.OperationalError("not connecting in this test")

    monkeypatch.setattr(psycopg, "connect", refused)
    engine = app_db.make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")
    with pytest.raises(OperationalError):
        engine.connect()
    options = asked[0]["options"].split(" -c ")
    assert options[0] == "-c timezone=UTC"
    assert "jit=off" in options[1:]
    assert any(option.startswith("statement_timeout=") for option in options[1:])
