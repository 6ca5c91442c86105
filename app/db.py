"""Engine and session factory. One transaction per unit of work: callers own commit/rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.settings import get_settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; SQLAlchemy emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer holds the lock; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


engine = make_engine(get_settings().database_url)
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def snapshot_connection() -> Iterator[Connection]:
    """A connection that reads one consistent snapshot of every table, for a long export.

    REPEATABLE READ on PostgreSQL; SQLite's read transaction in WAL mode already is one. When
    sessions are bound to a connection that is already in a transaction (as in tests), that
    transaction's view is the snapshot."""
    bind = SessionLocal.kw["bind"]
    if isinstance(bind, Connection):
        yield bind
        return
    options = {"isolation_level": "REPEATABLE READ"} if bind.dialect.name == "postgresql" else {}
    with bind.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def get_session() -> Iterator[Session]:
    """Request-scoped session: commits when the request succeeds, rolls back on any error."""
    with SessionLocal.begin() as session:
        yield session
