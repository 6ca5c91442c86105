"""A token of the data's version: it changes whenever a write commits, so that two reads that
find the same token read the same data (app.kept_reads keeps answers by it).

- PostgreSQL: the snapshot (`pg_current_snapshot()`: the oldest running transaction, the next
  to start and those running), which decides which rows a read sees. Read as a transaction's
  first statement in REPEATABLE READ, it is the snapshot every later statement reads with.
  Any committed write (in any database of the server) gives another.
- SQLite: `PRAGMA data_version` on a connection of its own that never writes: it changes when
  any other connection, of this process or another, commits. (A connection's own commits do
  not change it, so the pooled connections, which may have written, cannot give it.) Read
  before a read transaction's first statement: a write committed in between gives a token
  that no later read finds again, never an old token with new data.
- SQLite in memory (each connection its own database): no token; nothing is kept.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

_SNAPSHOT = text("SELECT pg_current_snapshot()::text")


class DataVersions:
    """The data version of one engine's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._watcher: sqlite3.Connection | None = None
        # Counted up at each new watcher, whose own versions start again.
        self._watchers = 0
        self._lock = threading.Lock()
        # Closed with the engine's pooled connections, so that a disposed engine leaves no
        # file open (a test's database removed, a forked worker's engine renewed).
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def read(self, db: Session | Connection) -> str | None:
        """The version of the data `db` reads, called before (SQLite) or as (PostgreSQL) the
        first statement of its transaction; None when there is none to tell."""
        if self.engine.dialect.name == "postgresql":
            return str(db.scalar(_SNAPSHOT))
        return self._sqlite_version()

    def _sqlite_version(self) -> str | None:
        if self.engine.url.database in (None, "", ":memory:"):
            return None
        with self._lock:
            try:
                if self._watcher is None:
                    self._watcher = self._connect()
                    self._watchers += 1
                (version,) = self._watcher.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                # Answered without a token (read afresh); the next read opens a new watcher.
                self._close()
                return None
            return f"{self._watchers}:{version}"

    def _connect(self) -> sqlite3.Connection:
        (database,), options = self.engine.dialect.create_connect_args(self.engine.url)
        # Autocommit (isolation_level None): no transaction of pysqlite's around the PRAGMA.
        return sqlite3.connect(
            database, uri=bool(options.get("uri")), check_same_thread=False, isolation_level=None
        )

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
