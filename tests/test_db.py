"""app.db outside the test transaction: SQLite's BEGIN under a held lock, and run_read's own
connection (the rest of the suite binds every session to one test connection)."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import OperationalError

import app.db as app_db


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
def own_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app_db.SessionLocal.kw, "bind", app_db.engine)


def test_run_read_runs_in_a_transaction_of_its_own_and_leaves_no_connection_behind(
    own_connections: None,
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
        assert await app_db.run_read(query, value=7) == 7
        with pytest.raises(LookupError):
            await app_db.run_read(failing)
        assert await app_db.run_read(query, value=8) == 8
        # Each read's transaction is over once it returns, error or not.
        assert not any(connection.in_transaction() for connection in seen)
        if app_db.engine.dialect.name == "sqlite":
            # Reads on the event loop keep one connection between them...
            assert seen[0] is seen[1]
        else:
            assert all(connection.closed for connection in seen)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(reads())
    loop.close()
    del loop
    gc.collect()
    # ... which goes back to the pool with the loop.
    assert app_db.engine.pool.checkedout() == checked_out
    assert all(connection.closed for connection in seen)


def test_a_loop_connection_left_in_a_transaction_is_replaced(own_connections: None) -> None:
    seen: list[Connection] = []

    def query(*, db: Connection) -> None:
        seen.append(db)

    async def reads() -> None:
        await app_db.run_read(query)
        if not seen[0].closed:  # SQLite: the loop's own connection, kept between reads
            seen[0].begin()  # as if the end of a read had failed
        await app_db.run_read(query)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(reads())
    loop.close()
    assert seen[1] is not seen[0]
    assert seen[0].closed
