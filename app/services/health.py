"""Whether the service can do its work: the database answers and takes writes."""

from __future__ import annotations

from anyio import fail_after, to_thread
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from app import db_faults
from app.db import DEFERRED, Database
from app.settings import get_settings


async def check_ready(*, db: Database) -> None:
    """Raises DatabaseFault (503) unless the database shows within AFI_READY_TIMEOUT_SECONDS
    that it takes writes; a database error (unreachable, ...) is raised as it is."""
    try:
        with fail_after(get_settings().ready_timeout_seconds):
            # A frozen database holds the thread until its deadline (app.db_faults.Deadlines);
            # the answer does not wait for it.
            await to_thread.run_sync(_check, db.engine, abandon_on_cancel=True)
    except TimeoutError:
        db_faults.incidents.failed(db_faults.TIMEOUT, TimeoutError("no answer to /ready"))
        raise db_faults.TIMEOUT.error() from None
    db_faults.incidents.recovered(wrote=True)


def _check(engine: Engine) -> None:
    check_database(engine=engine)


def check_database(*, engine: Engine) -> None:
    """On a connection of its own: the database answers and would take a write."""
    # Deferred on SQLite: the check takes the write lock itself, without waiting for it.
    with engine.connect().execution_options(**{DEFERRED: True}) as connection:
        if connection.dialect.name == "sqlite":
            _sqlite_takes_writes(connection)
            return
        in_recovery, read_only = connection.execute(
            text(
                "SELECT pg_is_in_recovery(), "
                "current_setting('default_transaction_read_only') = 'on'"
            )
        ).one()
        if in_recovery or read_only:
            raise db_faults.READ_ONLY.error()


def _sqlite_takes_writes(connection: Connection) -> None:
    # A write in a transaction rolled back: SQLite refuses it on a file (or a connection) it
    # can only read. Without waiting: another writer holding the lock shows that writes work.
    driver = connection.connection.driver_connection
    assert driver is not None  # checked out: the connection is live
    (waited,) = driver.execute("PRAGMA busy_timeout").fetchone()
    driver.execute("PRAGMA busy_timeout = 0")
    transaction = connection.begin()
    try:
        (version,) = connection.exec_driver_sql("PRAGMA user_version").one()
        connection.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
    except OperationalError as exc:
        if db_faults.classify(exc) is not db_faults.BUSY:
            raise
    finally:
        transaction.rollback()
        if not connection.invalidated:  # given up by the failure (see app.db_faults)
            driver.execute(f"PRAGMA busy_timeout = {int(waited)}")
