"""When the database fails: what a failure means for a client, one log line per incident, and
connections that recover by themselves.

- `classify` reads a driver's error (SQLite's or psycopg's) as a `Fault`: the problem type a
  client gets (503 with `Retry-After`), and whether the connection it came from is spoiled.
- `guard_engine` makes an engine drop spoiled connections (with every connection pooled before
  them, so that the pool reconnects once the database is back) and, on SQLite, never pool a
  connection while the database is read-only (SQLite keeps a file it opened read-only so).
- `incidents` logs the first failure of each kind and its end, not every request refused.
- `Deadlines` (PostgreSQL): a client-side deadline on every statement, commit and liveness
  check. A frozen server accepts TCP and its kernel acknowledges every packet, so neither
  `statement_timeout` nor TCP keepalives end the wait: past the deadline the connection's
  socket is shut down, and the call fails with `NO_ANSWER`.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry

from app.errors import DatabaseFault

logger = logging.getLogger("afi.database")


@dataclass(frozen=True)
class Fault:
    """A kind of database failure, as a client is told it."""

    slug: str
    detail: str
    retry_after: int
    # The connection is of no more use: invalidated (with the pool's older ones), reopened.
    spoils_connection: bool = False
    # The incident ends only when a write succeeds (a read proves nothing about it).
    ends_on_write: bool = False

    def error(self) -> DatabaseFault:
        return DatabaseFault(self.detail, slug=self.slug, retry_after=self.retry_after)


# SQLite's one writer stayed busy past the busy timeout (or a PostgreSQL lock_timeout).
BUSY = Fault("database-busy", "The database is busy; retry shortly.", 1, ends_on_write=True)
UNAVAILABLE = Fault(
    "database-unavailable",
    "The database cannot be reached; retry shortly.",
    5,
    spoils_connection=True,
)
# The server cancelled a statement that ran past the statement timeout: the connection is fine.
TIMEOUT = Fault("database-timeout", "The database did not answer in time; retry shortly.", 5)
# No answer at all (a frozen server, a lost network): the connection is given up.
NO_ANSWER = Fault(TIMEOUT.slug, TIMEOUT.detail, 5, spoils_connection=True)
READ_ONLY = Fault(
    "database-read-only",
    "The database takes no writes at the moment (it is read-only); retry later.",
    30,
    spoils_connection=True,
    ends_on_write=True,
)
FULL = Fault(
    "database-full",
    "The database's disk is full; nothing was stored. Retry later.",
    60,
    ends_on_write=True,
)

# What the deadline watchdog makes a call that got no answer raise (see Deadlines).
NO_ANSWER_MESSAGE = "no answer from the database within the client deadline"

_SQLITE_CODES = {
    "SQLITE_BUSY": BUSY,
    "SQLITE_LOCKED": BUSY,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_FULL": FULL,
    "SQLITE_CANTOPEN": UNAVAILABLE,
    "SQLITE_IOERR": UNAVAILABLE,
}
# By message, for errors without a code (raised by hand, or by older drivers).
_MESSAGES = (
    ("database is locked", BUSY),
    ("database table is locked", BUSY),
    ("readonly database", READ_ONLY),
    ("database or disk is full", FULL),
    ("unable to open database file", UNAVAILABLE),
    ("disk i/o error", UNAVAILABLE),
    (NO_ANSWER_MESSAGE, NO_ANSWER),
    ("timeout expired", NO_ANSWER),  # libpq's connect_timeout
    ("connection refused", UNAVAILABLE),
    ("server closed the connection", UNAVAILABLE),
)
_POSTGRES_STATES = {
    "57014": TIMEOUT,  # query_canceled: statement_timeout
    "55P03": BUSY,  # lock_not_available: lock_timeout
    "25006": READ_ONLY,  # read_only_sql_transaction: a standby, or default_transaction_read_only
    "53100": FULL,  # disk_full
    "57P01": UNAVAILABLE,  # admin_shutdown
    "57P02": UNAVAILABLE,  # crash_shutdown
    "57P03": UNAVAILABLE,  # cannot_connect_now: starting up or shutting down
}


def classify(error: BaseException) -> Fault | None:
    """The fault a database error stands for, or None for one that is not the database's
    state (a bug, a constraint, a statement interrupted on purpose)."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        fault = _SQLITE_CODES.get("_".join(name.split("_")[:2]))
        if fault is not None:
            return fault
    elif type(orig).__module__.split(".")[0] == "psycopg":
        state = getattr(orig, "sqlstate", None)
        if state is not None:
            if state in _POSTGRES_STATES:
                return _POSTGRES_STATES[state]
            # connection_exception, insufficient_resources (too many connections)
            return UNAVAILABLE if state.startswith(("08", "53")) else None
    message = str(orig).lower()
    for text, fault in _MESSAGES:
        if text in message:
            return fault
    if type(orig).__name__ in ("OperationalError", "InterfaceError") and not isinstance(
        orig, sqlite3.Error
    ):
        return UNAVAILABLE  # psycopg without a SQLSTATE: the connection failed or broke
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return UNAVAILABLE
    return None


@dataclass
class _Incident:
    fault: Fault
    since: float
    logged: float
    refused: int = 1


@dataclass
class Incidents:
    """Failures of the database as the service meets them: logged when each kind begins, every
    `remind_seconds` while it lasts, and when it ends; never once per request."""

    remind_seconds: float = 60.0
    # A read-only error was seen since the last successful write: connections opened meanwhile
    # may be read-only for good (SQLite) and are not reused.
    read_only_suspected: bool = False
    _open: dict[str, _Incident] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, fault: Fault, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            incident = self._open.get(fault.slug)
            if incident is None:
                self._open[fault.slug] = _Incident(fault, since=now, logged=now)
                logger.warning("%s: %s; answering 503 until it passes", fault.slug, _brief(error))
                return
            incident.refused += 1
            if now - incident.logged < self.remind_seconds:
                return
            incident.logged = now
            logger.warning(
                "%s for %.0f s now: %d requests refused",
                fault.slug,
                now - incident.since,
                incident.refused,
            )

    def recovered(self, *, wrote: bool) -> None:
        """The database just did its work (`wrote`: a write committed): incidents end."""
        if not self._open and not (wrote and self.read_only_suspected):
            return
        now = time.monotonic()
        with self._lock:
            if wrote:
                self.read_only_suspected = False
            for slug, incident in list(self._open.items()):
                if incident.fault.ends_on_write and not wrote:
                    continue
                del self._open[slug]
                logger.warning(
                    "%s over after %.1f s: %d requests refused",
                    slug,
                    now - incident.since,
                    incident.refused,
                )


incidents = Incidents()


def _brief(error: BaseException) -> str:
    orig = error.orig if isinstance(error, DBAPIError) else error
    lines = str(orig).strip().splitlines() or [""]
    return f"{type(orig).__name__}: {lines[0]}"


# --- engines ---------------------------------------------------------------------------------

_OPENED_READ_ONLY = "afi_opened_while_read_only"


def guard_engine(engine: Engine) -> None:
    """Give up connections spoiled by a failure (see `Fault.spoils_connection`). On SQLite,
    pool no connection while the database is read-only, nor any opened meanwhile: SQLite keeps
    a file it opened read-only read-only, and while one such connection stays open in the
    process, others opened later can share its read-only view of the write-ahead log."""
    event.listen(engine, "handle_error", _on_error)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "checkin", _on_checkin)


def _on_error(context: ExceptionContext) -> None:
    fault = classify(context.original_exception)
    if fault is None:
        return
    if fault is READ_ONLY and context.engine is not None and context.engine.name == "sqlite":
        incidents.read_only_suspected = True
        # SQLite closes a connection only once its statements are finalized: the failed one
        # would stay referenced by the error's traceback until the garbage collector runs.
        cursor = getattr(context.execution_context, "cursor", None)
        if cursor is not None:
            cursor.close()
        # Connections idle in the pool close now; those in use, when they come back.
        context.engine.pool.dispose()
    if fault.spoils_connection:
        # Invalidates this connection, and (invalidate_pool_on_disconnect) every connection
        # checked in before now: each is reopened when next checked out.
        context.is_disconnect = True


def _on_connect(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    if incidents.read_only_suspected:
        record.info[_OPENED_READ_ONLY] = True


def _on_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    if dbapi_connection is not None and (
        incidents.read_only_suspected or record.info.get(_OPENED_READ_ONLY)
    ):
        record.invalidate()  # closed now; the pool opens a new one when it is next needed


@dataclass(eq=False)
class _Armed:
    deadline: float
    seconds: float
    fd: int
    fired: bool = False


class Deadlines:
    """A client-side deadline on each call that waits for a PostgreSQL server's answer: one
    watchdog thread shuts the socket of a connection whose call overran, which makes the call
    fail at once (with NO_ANSWER_MESSAGE) and the connection be given up."""

    def __init__(self, *, statement_seconds: float | None, ping_seconds: float) -> None:
        self.statement_seconds = statement_seconds
        self.ping_seconds = ping_seconds
        self._cond = threading.Condition()
        # One queue per length of deadline: each is in the order its deadlines fall.
        self._queues: dict[float, OrderedDict[_Armed, None]] = {}
        self._watcher: tuple[int, threading.Thread] | None = None

    def install(self, engine: Engine) -> None:
        import psycopg

        dialect: Any = engine.dialect
        guards: list[tuple[str, float | None, Callable[[Any], Any]]] = [
            ("do_ping", self.ping_seconds, _itself),
            ("do_execute", self.statement_seconds, _cursor_connection),
            ("do_execute_no_params", self.statement_seconds, _cursor_connection),
            ("do_executemany", self.statement_seconds, _cursor_connection),
            ("do_commit", self.statement_seconds, _itself),
            ("do_rollback", self.statement_seconds, _itself),
        ]
        for name, seconds, connection_of in guards:
            if seconds:
                call = getattr(dialect, name)
                setattr(dialect, name, self._guarded(call, seconds, connection_of, psycopg))

    def _guarded(
        self,
        call: Callable[..., Any],
        seconds: float,
        connection_of: Callable[[Any], Any],
        psycopg: Any,
    ) -> Callable[..., Any]:
        def guarded(target: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                fd = connection_of(target).fileno()
            except psycopg.Error:  # closed or broken already: the call fails on its own
                return call(target, *args, **kwargs)
            armed = self._arm(fd, seconds)
            try:
                return call(target, *args, **kwargs)
            except psycopg.Error as exc:
                if self._disarm(armed):
                    raise psycopg.OperationalError(f"{NO_ANSWER_MESSAGE} ({seconds:g} s)") from exc
                raise
            finally:
                self._disarm(armed)

        return guarded

    def _arm(self, fd: int, seconds: float) -> _Armed:
        armed = _Armed(time.monotonic() + seconds, seconds, fd)
        with self._cond:
            queue = self._queues.setdefault(seconds, OrderedDict())
            queue[armed] = None
            if self._watcher is None or self._watcher[0] != os.getpid():
                thread = threading.Thread(target=self._watch, name="afi-db-deadlines", daemon=True)
                self._watcher = (os.getpid(), thread)
                thread.start()
            elif len(queue) == 1:
                self._cond.notify()  # the watcher may be waiting for a later deadline
        return armed

    def _disarm(self, armed: _Armed) -> bool:
        """True if the deadline had passed (the connection's socket is shut)."""
        with self._cond:
            self._queues[armed.seconds].pop(armed, None)
            return armed.fired

    def _watch(self) -> None:
        with self._cond:
            while True:
                heads = [(next(iter(q)), q) for q in self._queues.values() if q]
                if not heads:
                    self._cond.wait()
                    continue
                armed, queue = min(heads, key=lambda head: head[0].deadline)
                wait = armed.deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                del queue[armed]
                armed.fired = True
                _shut(armed.fd)


def _itself(connection: Any) -> Any:
    return connection


def _cursor_connection(cursor: Any) -> Any:
    return cursor.connection


def _shut(fd: int) -> None:
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile
