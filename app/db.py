"""Engine and session factory. One transaction per unit of work: callers own commit/rollback."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
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
        # Sessions and bare read connections (run_read) each queue at `sessions`.
        pool_size=sessions,
        max_overflow=sessions,
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
    if connection.get_execution_options().get(DEFERRED, False):
        # A deferred BEGIN takes no lock, so it cannot find the database busy: straight to the
        # driver, at a fraction of the cost of an execution through SQLAlchemy.
        driver = connection.connection.driver_connection
        assert driver is not None  # checked out: the connection is live
        driver.execute("BEGIN")
        return
    # Through SQLAlchemy, not straight to the driver: a busy database must raise SQLAlchemy's
    # OperationalError (answered 503), which only its own execution wraps the driver's error in.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


T = TypeVar("T")

engine = make_engine(get_settings().database_url)
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)


@cache
def _read_only_engine(engine: Engine) -> Engine:
    return engine.execution_options(**{DEFERRED: True})


@contextmanager
def read_connection(*, snapshot: bool = False) -> Iterator[Connection]:
    """A connection in a transaction that only reads: what a query needs, without a Session.

    With `snapshot`, one consistent view of every table for a long export: REPEATABLE READ on
    PostgreSQL (SQLite's read transaction in WAL mode already is one). When sessions are bound
    to a connection that is already in a transaction (as in tests), that transaction is used."""
    bind = SessionLocal.kw["bind"]
    if isinstance(bind, Connection):
        yield bind
        return
    readers = _read_only_engine(bind)
    if snapshot and bind.dialect.name == "postgresql":
        readers = readers.execution_options(isolation_level="REPEATABLE READ")
    with readers.connect() as connection, connection.begin():
        yield connection


# Queries run on a Session (inside a unit of work) or on a bare Connection (reads on their own).
Reader = Session | Connection

_read_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()


def _read_limiter() -> CapacityLimiter:
    # One per event loop, as asyncio's primitives belong to the loop they first wait on.
    loop = asyncio.get_running_loop()
    limiter = _read_limiters.get(loop)
    if limiter is None:
        limiter = _read_limiters[loop] = CapacityLimiter(get_settings().max_concurrent_sessions)
    return limiter


def _read(call: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with read_connection() as connection:
        return call(db=connection, **kwargs)


_loop_connections: WeakKeyDictionary[asyncio.AbstractEventLoop, Connection] = WeakKeyDictionary()


def _loop_connection(engine: Engine) -> Connection:
    """The running event loop's own SQLite connection for reads, kept from one to the next
    (closed with the loop): taking a connection from the pool and giving it back costs more
    than the query of a small page. Reads on the loop run one at a time, never interleaved."""
    readers = _read_only_engine(engine)
    loop = asyncio.get_running_loop()
    connection = _loop_connections.get(loop)
    if (
        connection is None
        or connection.engine is not readers
        or connection.invalidated
        or connection.in_transaction()  # a read whose end failed: start afresh
    ):
        if connection is not None:
            connection.close()
        connection = _loop_connections[loop] = readers.connect()
        weakref.finalize(loop, connection.close)
    return connection


def _read_on_loop(call: Callable[..., T], kwargs: dict[str, Any]) -> T:
    bind = SessionLocal.kw["bind"]
    if isinstance(bind, Connection):
        return _read(call, kwargs)
    connection = _loop_connection(bind)
    with connection.begin():
        return call(db=connection, **kwargs)


async def run_read(call: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a query function (`call(db=connection, **kwargs)`) in a read transaction of its own.

    For requests that only read: a bare Connection costs a fraction of a Session per request.
    On SQLite it runs right here on the event loop, on the loop's own connection (a reader in
    WAL mode never waits for a lock); on PostgreSQL in a worker thread, at most
    max_concurrent_sessions at once, so that requests queue without holding threads rather
    than wait in threads for the pool."""
    if SessionLocal.kw["bind"].dialect.name == "sqlite":
        return _read_on_loop(call, kwargs)
    return await to_thread.run_sync(_read, call, kwargs, limiter=_read_limiter())


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


async def _end(session: Session, end: Callable[[], None]) -> None:
    if _may_run_inline(session):
        end()
    else:
        await run_in_threadpool(end)


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


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Request-scoped session: commits when the request succeeds, rolls back on any error.

    GET requests only read. Sync routes use the session from a worker thread, async ones hand
    their work with it to one; its own commit or rollback is blocking work, run the same way
    (except a SQLite read's, which never waits)."""
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
