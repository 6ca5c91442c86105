"""Engine and session factory. One transaction per unit of work: callers own commit/rollback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar, cast
from weakref import WeakKeyDictionary

from anyio import CancelScope, CapacityLimiter, to_thread
from fastapi import Depends
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app import db_faults
from app.answer_cache import AnswerCache
from app.custom_plans import plan_marked_statements_each_time
from app.data_version import DataVersions
from app.settings import get_settings


def make_engine(url: str, *, statement_timeout: bool = True) -> Engine:
    """The engine for `url`, with the timeouts of the settings towards the database; without
    `statement_timeout` (migrations, which may rightly take long) statements are not limited."""
    settings = get_settings()
    sessions = settings.max_concurrent_sessions
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            return create_engine(url)  # one shared in-memory database: SQLAlchemy's own pool
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.db_busy_timeout_seconds,
            },
            # SQLite connections are cheap: the pool never makes anyone wait. Sessions and reads
            # are each limited to max_concurrent_sessions at once before they take one.
            pool_size=sessions,
            max_overflow=-1,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        db_faults.guard_engine(engine)
        return engine
    connect = settings.db_connect_timeout_seconds
    statements = settings.db_statement_timeout_seconds if statement_timeout else 0
    # Timestamps come back in UTC whatever the server's own time zone is. No JIT: the service's
    # statements are short or read indexes, and PostgreSQL decides to compile by a plan's
    # estimated cost, which seeks by the thousand reach: 24 to 200 ms of compiling for
    # statements that then ran in tens (bench/README.md).
    options = "-c timezone=UTC -c jit=off"
    if statements:
        options += f" -c statement_timeout={int(statements * 1000)}"
    engine = create_engine(
        url,
        pool_pre_ping=True,
        # Sessions and bare reads (run_read) each queue at `sessions`, heavy reads at theirs;
        # a little more for token-use records, which queue at nothing.
        pool_size=sessions,
        max_overflow=sessions + settings.max_concurrent_heavy_reads + 5,
        # Requests queue before they take a connection, so waiting for one means trouble.
        pool_timeout=connect,
        connect_args={
            "options": options,
            "connect_timeout": max(2, round(connect)),  # libpq counts whole seconds, 2 at least
            # A server that vanished from the network (not merely slow): given up on after
            # unanswered keepalives, or data unacknowledged for as long as a connect may take.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": int((connect + statements) * 1000),
        },
    )
    plan_marked_statements_each_time(engine)
    db_faults.guard_engine(engine)
    # A frozen server acknowledges packets and never answers: a deadline of the client's own.
    db_faults.Deadlines(
        statement_seconds=statements + connect if statements else None, ping_seconds=connect
    ).install(engine)
    return engine


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

# Session.info key: the session was opened for a request that only reads.
READS_ONLY = "reads_only"
# The limiters of reads in worker threads, and what an exhausted export iterator returns.
_READS, _HEAVY_READS = "reads", "heavy reads"
_END: Any = object()
# A SQLite read on the event loop may take this many ticks of _STEPS_PER_TICK virtual machine
# steps (about 3 to 5 ms here; a page of 50 actions takes 4 ticks, of 500 about 45) before it
# is interrupted and run again in a worker thread.
LOOP_READ_BUDGET = 100
_STEPS_PER_TICK = 1000
_OVER_BUDGET: Any = object()


class Database:
    """The one way in to the data: sessions for units of work, bare connections for reads.

    Requests get it from the `get_database` dependency, the command line from `database`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)
        event.listen(self.sessions, "after_flush", _note_write)
        event.listen(self.sessions, "before_commit", _fold_tallies)
        # Reads begin DEFERRED on SQLite: they never take or wait for the write lock.
        self._readers = engine.execution_options(**{DEFERRED: True})
        self._limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, CapacityLimiter]] = (
            WeakKeyDictionary()
        )
        self._versions = DataVersions(engine)
        # Answers of heavy reads, by the data version they were read at (app.kept_reads).
        self.answers = AnswerCache(max_bytes=get_settings().answer_cache_mb * 1024 * 1024)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, read_only: bool = False) -> Session:
        """A session; a read-only one never takes SQLite's write lock."""
        session = self.sessions(bind=self._readers) if read_only else self.sessions()
        session.info[READS_ONLY] = read_only
        return session

    @contextmanager
    def reader(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A connection in a transaction that only reads: what a query needs, without a Session.

        With `snapshot`, one consistent view of every table for a long export: REPEATABLE READ on
        PostgreSQL (SQLite's read transaction in WAL mode already is one)."""
        readers = self._readers
        if snapshot and self.dialect == "postgresql":
            readers = readers.execution_options(isolation_level="REPEATABLE READ")
        with readers.connect() as connection, connection.begin():
            yield connection

    def data_version(self, *, db: Connection) -> str | None:
        """The version of the data (app.data_version) that `db`, in a read transaction that has
        not read yet, reads: None where there is none to tell."""
        return self._versions.read(db)

    @contextmanager
    def unit_without_waiting(self) -> Iterator[Session]:
        """A unit of work that fails at once (OperationalError) rather than wait for another
        writer's lock: for writes worth making only when they cost nobody a wait."""
        with self.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None  # checked out: the connection is live
            if self.dialect == "sqlite":
                # Straight to the driver: through SQLAlchemy the PRAGMA would begin (and wait
                # for) the transaction it is meant to keep from waiting.
                (waited,) = driver.execute("PRAGMA busy_timeout").fetchone()
                driver.execute("PRAGMA busy_timeout = 0")
            try:
                with self.sessions(bind=connection) as session, session.begin():
                    if self.dialect == "postgresql":
                        session.execute(text("SET LOCAL lock_timeout = '1ms'"))
                    yield session
            finally:
                # Unless a failure gave the connection up (closed it): see app.db_faults.
                if self.dialect == "sqlite" and not connection.invalidated:
                    driver.execute(f"PRAGMA busy_timeout = {int(waited)}")

    def _read(self, call: Callable[..., T], kwargs: dict[str, Any], snapshot: bool = False) -> T:
        with self.reader(snapshot=snapshot) as connection:
            return call(db=connection, **kwargs)

    async def run_read(self, call: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a query function (`call(db=connection, **kwargs)`) in a read transaction of its
        own, in a worker thread, so that a long query never holds up the event loop and so
        never another request (at most max_concurrent_sessions at once per event loop; the
        others queue without holding a thread).

        On SQLite a read first starts right here on the loop, within a budget of SQLite's
        steps: most reads (a page, a token, one action) take less than the hop to a thread
        would. Past the budget SQLite interrupts it, and it starts again in a worker thread."""
        if self.dialect == "sqlite":
            found = self._read_within_budget(call, kwargs)
            if found is not _OVER_BUDGET:
                db_faults.incidents.recovered(wrote=False)
                return cast(T, found)
        limiter = self._limiter(_READS)
        result = await to_thread.run_sync(self._read, call, kwargs, limiter=limiter)
        db_faults.incidents.recovered(wrote=False)
        return result

    def _read_within_budget(self, call: Callable[..., T], kwargs: dict[str, Any]) -> Any:
        ticks = 0

        def tick() -> bool:
            nonlocal ticks
            ticks += 1
            return ticks > LOOP_READ_BUDGET  # True: SQLite stops the statement ("interrupted")

        try:
            with self.reader() as connection:
                driver = connection.connection.driver_connection
                assert driver is not None  # checked out: the connection is live
                driver.set_progress_handler(tick, _STEPS_PER_TICK)
                try:
                    return call(db=connection, **kwargs)
                finally:
                    driver.set_progress_handler(None, 0)
        except OperationalError:
            if ticks > LOOP_READ_BUDGET:
                return _OVER_BUDGET
            raise

    async def run_heavy_read(self, call: Callable[..., T], /, **kwargs: Any) -> T:
        """`run_read` for a query that reads much of the database (stats, a summary, a count):
        at most max_concurrent_heavy_reads of them at once per process, so that the cheap
        requests beside them always find a core; the others wait for each other. Its
        statements see one snapshot, so that figures from several of them agree."""
        limiter = self._limiter(_HEAVY_READS)
        return await to_thread.run_sync(self._read, call, kwargs, True, limiter=limiter)

    async def stream_heavy(self, chunks: Iterator[T]) -> AsyncGenerator[T, None]:
        """The chunks of a long export, each made in a worker thread as a heavy read: an export
        takes its turn with stats and summaries chunk by chunk, never for its whole length.

        The next chunk is made while this one is sent: the database works while the client
        reads, rather than each waiting for the other (one chunk ahead, so memory stays flat)."""
        limiter = self._limiter(_HEAVY_READS)

        def make() -> asyncio.Future[Any]:
            return asyncio.ensure_future(to_thread.run_sync(next, chunks, _END, limiter=limiter))

        ahead = make()
        try:
            # Shielded: a cancelled request (the client went away) must not cancel the chunk
            # being made, whose thread would run on, out of the limiter's count; the finally
            # below waits for it instead.
            while (chunk := await asyncio.shield(ahead)) is not _END:
                ahead = make()
                yield chunk
        finally:
            # Abandoned (the client went away): the chunk being made is let finish, so that
            # its session ends in its thread and no two threads ever run the iterator at once.
            if not ahead.done():
                with CancelScope(shield=True):
                    await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: its failure, if any, was the stream's own or moot

    async def started_stream(self, chunks: Iterator[T], *, first: int = 2) -> AsyncIterator[T]:
        """`stream_heavy`, its first chunks made before this returns (an export's header and
        first batch): a failure there (the database down) is still answered as a problem,
        where once the response has started it could only be cut short."""
        stream = self.stream_heavy(chunks)
        made: list[T] = []
        try:
            for _ in range(first):
                made.append(await anext(stream))
        except StopAsyncIteration:
            pass
        except BaseException:
            await stream.aclose()
            raise
        return _chained(made, stream)

    def _limiter(self, kind: str) -> CapacityLimiter:
        # One per event loop, as asyncio's primitives belong to the loop they first wait on.
        limiters = self._limiters.setdefault(asyncio.get_running_loop(), {})
        limiter = limiters.get(kind)
        if limiter is None:
            settings = get_settings()
            size = (
                settings.max_concurrent_heavy_reads
                if kind == _HEAVY_READS
                else settings.max_concurrent_sessions
            )
            limiter = limiters[kind] = CapacityLimiter(size)
        return limiter


async def _chained(made: list[T], rest: AsyncIterator[T]) -> AsyncIterator[T]:
    for chunk in made:
        yield chunk
    async for chunk in rest:
        yield chunk


# Queries run on a Session (inside a unit of work) or on a bare Connection (reads on their own).
Reader = Session | Connection


def _note_write(session: Session, _context: Any) -> None:
    session.info["wrote"] = True


def _fold_tallies(session: Session) -> None:
    # Every write may have added tally deltas (triggers, app.services.tallies); a unit of work
    # that only read has nothing to fold and must not begin a transaction to find that out.
    if session.in_transaction() and not _only_reads(session):
        from app.services import tallies  # the services import this module

        tallies.compact_if_due(session)


def _has_writes(session: Session) -> bool:
    return bool(session.info.get("wrote") or session.new or session.dirty or session.deleted)


def _only_reads(session: Session) -> bool:
    return bool(session.info.get(READS_ONLY)) and not _has_writes(session)


async def _end(session: Session, end: Callable[[], None]) -> None:
    # Only the end of a SQLite session that read (a deferred transaction, no writes) never
    # waits for a lock; anything that may wait must not do so on the event loop.
    if session.get_bind().dialect.name == "sqlite" and _only_reads(session):
        end()
    else:
        await run_in_threadpool(end)


engine = make_engine(get_settings().database_url)
database = Database(engine)
# For the command line: `with SessionLocal.begin() as session:` is one unit of work.
SessionLocal = database.sessions


async def get_database() -> Database:
    """The database requests use (tests put theirs in through `app.dependency_overrides`)."""
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(request: Request, db: DatabaseDep) -> AsyncIterator[Session]:
    """Request-scoped session: commits when the request succeeds, rolls back on any error.

    GET requests only read. Sync routes use the session from a worker thread, async ones hand
    their work with it to one; its own commit or rollback is blocking work, run the same way
    (except a SQLite read's, which never waits)."""
    session = db.session(read_only=request.method in ("GET", "HEAD"))
    try:
        yield session
        # A GET's session has nothing to commit: closing it ends its read transaction.
        used, wrote = session.in_transaction(), _has_writes(session)
        await _end(session, session.close if _only_reads(session) else session.commit)
        if used:
            db_faults.incidents.recovered(wrote=wrote)
    except BaseException:
        await _end(session, session.rollback)
        raise
    finally:
        session.close()
