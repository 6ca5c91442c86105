"""Recording a token's last use never makes a request wait behind another writer.

On a database of its own (not the test's shared transaction), with a real lock held by
another connection, as a busy writer would hold it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from app import migrate
from app.api.auth import _record_use
from app.db import Database, make_engine
from app.enums import Role
from app.models import ApiToken
from app.services import tokens
from tests.conftest import fresh_database


@pytest.fixture
def own_database(base_database_url: str) -> Iterator[Database]:
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            yield Database(engine)
        finally:
            engine.dispose()


def _last_used(db: Database, token_id: int) -> Any:
    with db.reader() as connection:
        return connection.execute(
            select(ApiToken.last_used_at).where(ApiToken.id == token_id)
        ).scalar_one()


def _hold_the_lock(db: Database, token_id: int) -> Any:
    """Another writer's transaction, left open: SQLite's write lock, or the token's row lock
    on PostgreSQL (as a revocation in progress would hold it)."""
    connection = db.engine.connect()
    connection.begin()
    connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(name="busy"))
    return connection


def _record_in_thread(db: Database, token_id: int) -> bool:
    """Whether recording finished within a generous bound (the lock would hold it for the
    whole busy timeout, 30 s, if it waited)."""
    worker = threading.Thread(target=_record_use, args=(db, token_id))
    worker.start()
    worker.join(timeout=10)
    return not worker.is_alive()


def test_a_busy_database_skips_the_hint_instead_of_waiting(own_database: Database) -> None:
    db = own_database
    with db.sessions.begin() as session:
        token, _secret = tokens.create_token(session=session, name="hint", role=Role.VIEWER)
        token_id = token.id
    other = _hold_the_lock(db, token_id)
    try:
        assert _record_in_thread(db, token_id), "recording waited for the other writer"
        assert _last_used(db, token_id) is None
    finally:
        other.rollback()
        other.close()
    # With the lock gone, the next use is recorded, and the connection waits as usual again.
    assert _record_in_thread(db, token_id)
    assert _last_used(db, token_id) is not None
    if db.dialect == "sqlite":
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000


def test_no_database_error_while_recording_fails_the_request(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only PostgreSQL (a standby) refuses the write with an InternalError, not an
    OperationalError: the hint is skipped all the same and the read is answered."""
    from sqlalchemy.exc import InternalError

    def read_only(**_: Any) -> None:
        raise InternalError("UPDATE api_token", {}, Exception("read-only transaction"))

    monkeypatch.setattr(tokens, "record_use", read_only)
    response = client.get("/api/v1/actions")
    assert response.status_code == 200, response.text


def test_a_read_only_postgresql_database_skips_the_hint(own_database: Database) -> None:
    db = own_database
    with db.sessions.begin() as session:
        token, _secret = tokens.create_token(session=session, name="standby", role=Role.VIEWER)
        token_id = token.id
    if db.dialect == "postgresql":
        name = db.engine.url.database
        with db.engine.connect() as connection:
            connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
            )
            connection.commit()
        db.engine.dispose()  # new connections read the setting
    else:

        @event.listens_for(db.engine, "connect")
        def query_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")

        db.engine.dispose()
    _record_use(db, token_id)  # raises nothing
    assert _last_used(db, token_id) is None
