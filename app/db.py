"""Engine and session factory. One transaction per unit of work: callers own commit/rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.settings import get_settings


def make_engine(url: str) -> Engine:
    sessions = get_settings().max_concurrent_sessions
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            return create_engine(url)  # one shared in-memory database: SQLAlchemy's own pool
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # SQLite connections are cheap and reads may take one on the event loop, where
            # waiting for a free one would stall every request: the pool never makes anyone wait.
            pool_size=sessions,
            max_overflow=-1,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=sessions,
        max_overflow=sessions // 2,
        # Timestamps come back in UTC whatever the server's own time zone is.
        connect_args={"options": "-c timezone=UTC"},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; SQLAlchemy emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer holds the lock; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Execution option: begin SQLite transactions DEFERRED (take the write lock only on the first
# write) rather than IMMEDIATE. For transactions that only read, and for migrations, which run
# before anything else writes and must not queue behind a transaction that only reads.
DEFERRED = "afi_deferred_begin"


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once ("database is locked",
    # which no busy timeout cures) if another writer committed in between. So a transaction
    # that may write takes the write lock up front and waits its turn; readers stay deferred.
    deferred = connection.get_execution_options().get(DEFERRED, False)
    # Straight to the driver: every request begins a transaction, and SQLAlchemy's own
    # statement execution would cost more than SQLite takes to run this one.
    connection.connection.driver_connection.execute(  # type: ignore[union-attr]
        "BEGIN" if deferred else "BEGIN IMMEDIATE"
    )


T = TypeVar("T")

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
    options: dict[str, Any] = {DEFERRED: True}
    if bind.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with bind.connect().execution_options(**options) as connection, connection.begin():
        yield connection


# Session.info key: the session was opened for a request that only reads.
READS_ONLY = "reads_only"


@event.listens_for(SessionLocal, "after_flush")
def _note_write(session: Session, _context: Any) -> None:
    session.info["wrote"] = True


def _has_writes(session: Session) -> bool:
    return bool(session.info.get("wrote") or session.new or session.dirty or session.deleted)


def _only_reads(session: Session) -> bool:
    return bool(session.info.get(READS_ONLY)) and not _has_writes(session)


def _may_run_inline(session: Session) -> bool:
    """Only a SQLite session that reads (a deferred transaction, no writes) never waits for a
    lock; anything that may wait must not do so on the event loop."""
    return session.get_bind().dialect.name == "sqlite" and _only_reads(session)


async def run_db(call: Callable[..., T], /, *, session: Session, **kwargs: Any) -> T:
    """Run blocking database work with `session` from async code.

    A read-only request on SQLite runs it right here on the event loop: the database is a local
    file, the queries take well under a millisecond and, in WAL mode, a reader never waits for
    a lock, so a hop to a worker thread would cost more than the work. Everything else
    (PostgreSQL's network round trips, SQLite transactions that may write and so may wait for
    the write lock) goes to the thread pool."""
    if _may_run_inline(session):
        return call(session=session, **kwargs)
    return await run_in_threadpool(call, session=session, **kwargs)


async def _end(session: Session, end: Callable[[], None]) -> None:
    if _may_run_inline(session):
        end()
    else:
        await run_in_threadpool(end)


async def end_session(session: Session) -> None:
    """Close a session that only read, from async code."""
    await _end(session, session.close)


@cache
def _read_only_engine(engine: Engine) -> Engine:
    return engine.execution_options(**{DEFERRED: True})


def new_session(*, read_only: bool = False) -> Session:
    """A session; a read-only one never takes SQLite's write lock."""
    bind = SessionLocal.kw["bind"]
    if read_only and isinstance(bind, Engine):
        session = SessionLocal(bind=_read_only_engine(bind))
    else:
        # Bound to a connection (tests): its own transaction decides.
        session = SessionLocal()
    session.info[READS_ONLY] = read_only
    return session


async def get_read_session() -> AsyncIterator[Session]:
    """Session for a request that only reads: it has nothing to commit, so it is just closed
    (which ends its read transaction), whether the request succeeded or not."""
    session = new_session(read_only=True)
    try:
        yield session
    finally:
        await end_session(session)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Request-scoped session: commits when the request succeeds, rolls back on any error.

    GET requests only read. Sync routes use the session from a worker thread, async ones
    through `run_db`; its own commit or rollback is blocking work, run the same way."""
    session = new_session(read_only=request.method in ("GET", "HEAD"))
    try:
        yield session
        # A GET's session has nothing to commit: closing it ends its read transaction.
        await _end(session, session.close if _only_reads(session) else session.commit)
    except BaseException:
        await _end(session, session.rollback)
        raise
    finally:
        session.close()
