"""Test set-up: one database per run, made by `alembic upgrade head`; each test rolled back.

AFI_DATABASE_URL chooses the server: SQLite (default) or PostgreSQL. For PostgreSQL a fresh
database is created beside the one named and dropped at the end, so runs never share state.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "cumbria-peel-2015-effectiveness.txt"
_TMP = Path(tempfile.mkdtemp(prefix="afi-tests-"))
# The webhook tests' receiver and its permission to be on the loopback interface; the trend's
# scripted history carried on (`carried_on`).
pytest_plugins = ["tests.webhook_receiver", "tests.plans_db", "tests.trend_scenario"]


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """An empty database of the same kind as `base_url`, removed afterwards."""
    if not base_url.startswith("postgresql"):
        path = _TMP / f"{uuid.uuid4().hex}.db"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        return
    name = f"afi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_BASE_URL = os.environ.get("AFI_DATABASE_URL", "sqlite://")
_session_db = fresh_database(_BASE_URL)
TEST_DATABASE_URL = _session_db.__enter__()
# The app reads its settings once, at import: point them at the test database first.
os.environ["AFI_DATABASE_URL"] = TEST_DATABASE_URL
os.environ["AFI_DATA_DIR"] = str(_TMP / "data")
os.environ["AFI_SEEDS_DIR"] = str(ROOT / "seeds")


def pytest_unconfigure(config: pytest.Config) -> None:
    from app.db import engine

    engine.dispose()
    _session_db.__exit__(None, None, None)


@pytest.fixture(scope="session")
def base_database_url() -> str:
    return _BASE_URL


@pytest.fixture(scope="session", autouse=True)
def _migrated() -> None:
    from app import migrate

    migrate.upgrade(TEST_DATABASE_URL)


def _shared_connection_database(connection: Any) -> Any:
    from app.db import READS_ONLY, Database

    class SharedConnectionDatabase(Database):
        """The test's database: every session and read joins one connection's transaction."""

        def __init__(self) -> None:
            super().__init__(connection.engine)
            self.sessions.configure(bind=connection, join_transaction_mode="create_savepoint")

        def session(self, *, read_only: bool = False) -> Any:
            session = self.sessions()
            session.info[READS_ONLY] = read_only
            return session

        @contextmanager
        def reader(self, *, snapshot: bool = False) -> Iterator[Any]:
            yield connection

        @contextmanager
        def unit_without_waiting(self) -> Iterator[Any]:
            with self.sessions.begin() as session:
                yield session

        def data_version(self, *, db: Any) -> str | None:
            # The test's writes never commit, so no version tells them apart: no answer is
            # kept (tests/test_kept_answers.py keeps them on databases of its own).
            return None

    return SharedConnectionDatabase()


@pytest.fixture(autouse=True)
def _no_kept_report_counts() -> Iterator[None]:
    """The report counts page plans keep a while (per process) start empty in every test, so
    that no test's plans or statements depend on what an earlier one asked."""
    from app.services import page_plans

    page_plans._kept_shares.clear()
    yield
    page_plans._kept_shares.clear()


@pytest.fixture(autouse=True)
def db_connection(_migrated: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Every session and read the code under test opens joins one outer transaction, rolled
    back after. The API gets this database through `app.dependency_overrides` (see make_app);
    the command line and the fixtures through app.db's `database` and `SessionLocal`."""
    import app.db as app_db

    # Deferred: the test takes SQLite's write lock only when it writes.
    connection = app_db.engine.connect().execution_options(**{app_db.DEFERRED: True})
    outer = connection.begin()
    test_database = _shared_connection_database(connection)
    monkeypatch.setattr(app_db, "database", test_database)
    app_db.SessionLocal.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield connection
    finally:
        app_db.SessionLocal.configure(
            bind=app_db.engine, join_transaction_mode="conservative_savepoint"
        )
        outer.rollback()
        connection.close()


def make_app() -> Any:
    """The application, reading and writing through the test's database."""
    import app.db as app_db
    from app.main import create_app

    application = create_app()
    test_database = app_db.database
    application.dependency_overrides[app_db.get_database] = lambda: test_database
    return application


@pytest.fixture
def session() -> Iterator[object]:
    from app.db import SessionLocal

    with SessionLocal() as session:
        yield session


def make_token(
    role: str, name: str | None = None, owner_id: int | None = None, user: str | None = None
) -> str:
    """A fresh API token with `role` (belonging to `user`, by default the user named like the
    token), stored in the test's transaction; returns its secret."""
    from app.db import SessionLocal
    from app.enums import Role
    from app.services.tokens import create_token

    with SessionLocal.begin() as session:
        _token, secret = create_token(
            session=session,
            name=name or f"test-{role}-{uuid.uuid4().hex[:6]}",
            role=Role(role),
            owner_id=owner_id,
            user=user,
        )
    return secret


@pytest.fixture
def app() -> object:
    return make_app()


@pytest.fixture
def anonymous(app: object) -> Iterator[object]:
    """A client that sends no token."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture
def client_as(app: object) -> Callable[..., object]:
    """client_as("editor") is a client that sends a new token with that role (and
    `user="ann"` one that belongs to user ann)."""
    from fastapi.testclient import TestClient

    def make(
        role: str, name: str | None = None, owner_id: int | None = None, user: str | None = None
    ) -> object:
        secret = make_token(role, name=name, owner_id=owner_id, user=user)
        return TestClient(
            app,  # type: ignore[arg-type]
            raise_server_exceptions=False,
            headers={"Authorization": f"Bearer {secret}"},
        )

    return make


@pytest.fixture
def client(client_as: Callable[..., object]) -> object:
    """The default client: an admin, so tests of other things need not think about roles."""
    return client_as("admin", name="test-admin")


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def seeded(seed_text: str) -> int:
    """The seed report stored; returns its id."""
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text

    with SessionLocal.begin() as session:
        result = import_text(session=session, raw=seed_text, metadata={}, actor=system("tests"))
    return result.report.id


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of this test's own, read by the file store at every call."""
    from app.settings import get_settings

    path = tmp_path / "data"
    monkeypatch.setattr(get_settings(), "data_dir", path)
    return path


@pytest.fixture
def action_id(client: Any, seeded: int, data_dir: Path) -> int:
    """A seed action, with a data directory of the test's own for its evidence."""
    response = client.get("/api/v1/actions?limit=1")
    assert response.status_code == 200
    return int(response.json()["items"][0]["id"])


@pytest.fixture
def dataset(seeded: int, session: Any) -> object:
    """Actions across three reports with varied owners, statuses and dates (tests.query_data)."""
    from tests.query_data import build_dataset

    return build_dataset(session, seeded)
