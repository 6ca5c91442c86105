"""Kept stats answers (app.kept_reads): given again without reading only while no write has
committed since they were read, and always the bytes a fresh read gives.

On databases of their own (the shared test connection never commits, so keeps nothing): each
is migrated, loaded with the seed report, and written to through another engine, as another
process would."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from app import clock, migrate
from app.answer_cache import AnswerCache, Kept
from app.api.kept_answers import accepts_gzip
from app.data_version import DataVersions
from app.db import Database, get_database, make_engine
from app.enums import ActionStatus, Role
from app.kept_reads import run_kept_read
from app.main import create_app
from app.models import Action
from app.principal import system
from app.schemas.filters import ActionFilters
from app.schemas.params import StatsParams
from app.schemas.stats import StatsGroupBy
from app.schemas.trend import TrendInterval
from app.services import action_reads, overdue, stats, trend, workflow
from app.services.reports import import_text
from app.services.tokens import create_token
from tests.conftest import SEED, fresh_database


@pytest.fixture
def database_url(base_database_url: str) -> Iterator[str]:
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with Database(engine).sessions.begin() as session:
                import_text(
                    session=session,
                    raw=SEED.read_text(encoding="utf-8"),
                    metadata={},
                    actor=system("tests"),
                )
        finally:
            engine.dispose()
        yield url


@pytest.fixture
def own_database(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    try:
        yield Database(engine)
    finally:
        engine.dispose()


@pytest.fixture
def other_writer(database_url: str) -> Iterator[Database]:
    """Another engine on the same database: its commits are another process's."""
    engine = make_engine(database_url)
    try:
        yield Database(engine)
    finally:
        engine.dispose()


class _Statements:
    """The statements an engine sends, but for the data version's own."""

    def __init__(self, engine: Engine) -> None:
        self.sent: list[str] = []
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pg_current_snapshot" not in statement:
            self.sent.append(statement)


def _body(found: bytes | Iterator[bytes] | Kept) -> bytes:
    if isinstance(found, Kept):
        return gzip.decompress(found.body) if found.gzipped else found.body
    return found if isinstance(found, bytes) else b"".join(found)


def _kept(database: Database, group_by: StatsGroupBy, **filters: Any) -> bytes:
    """The stats answer through app.kept_reads, read to its end."""

    async def answer() -> bytes:
        found = await run_kept_read(
            database,
            stats.answer_json,
            key=("stats", group_by.value, repr(sorted(filters.items()))),
            filters=ActionFilters(**filters),
            group_by=group_by,
        )
        return _body(found)

    return asyncio.run(answer())


def _fresh(database: Database, group_by: StatsGroupBy, **filters: Any) -> bytes:
    """The answer read now, nothing kept."""
    with database.reader(snapshot=True) as connection:
        body = stats.answer_json(db=connection, filters=ActionFilters(**filters), group_by=group_by)
        return body if isinstance(body, bytes) else b"".join(body)


def _move_first_action(writer: Database, to: ActionStatus) -> None:
    with writer.sessions.begin() as session:
        action = session.scalars(select(Action).order_by(Action.id).limit(1)).one()
        workflow.transition(
            session=session, action=action, to=to, actor=system("tests"), comment="tests"
        )


def _version(database: Database) -> str | None:
    with database.reader() as connection:
        return database.data_version(db=connection)


@pytest.mark.parametrize("group_by", list(StatsGroupBy))
def test_an_answer_is_given_again_without_reading_while_nothing_is_written(
    own_database: Database, group_by: StatsGroupBy
) -> None:
    # PostgreSQL's snapshot is the server's: a commit in another of its databases (another
    # test run's, an autovacuum's ANALYZE) moves it too. Tried again until one try saw none.
    for _ in range(5):
        start = _version(own_database)
        first = _kept(own_database, group_by)
        statements = _Statements(own_database.engine)
        again = _kept(own_database, group_by)
        if _version(own_database) == start:
            break
    else:
        pytest.fail("the data version never held still")
    assert statements.sent == []
    assert again == first == _fresh(own_database, group_by)


@pytest.mark.parametrize("group_by", [StatsGroupBy.STATUS, StatsGroupBy.REPORT])
def test_a_commit_anywhere_has_the_answer_read_again(
    own_database: Database, other_writer: Database, group_by: StatsGroupBy
) -> None:
    before = _kept(own_database, group_by)
    _move_first_action(other_writer, ActionStatus.IN_PROGRESS)
    statements = _Statements(own_database.engine)
    after = _kept(own_database, group_by)
    assert statements.sent
    assert after != before
    assert after == _fresh(own_database, group_by)
    # Written through the service's own engine too (a pooled connection that then reads).
    _move_first_action(own_database, ActionStatus.BLOCKED)
    assert _kept(own_database, group_by) == _fresh(own_database, group_by) != after


def test_answers_are_kept_per_request_and_per_day(
    own_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = _kept(own_database, StatsGroupBy.STATUS)
    in_progress = _kept(own_database, StatsGroupBy.STATUS, statuses=("in_progress",))
    assert in_progress != everything
    assert _kept(own_database, StatsGroupBy.STATUS) == everything
    today = clock.today()
    monkeypatch.setattr(clock, "today", lambda: today + timedelta(days=400))
    statements = _Statements(own_database.engine)
    later = _kept(own_database, StatsGroupBy.STATUS)
    assert statements.sent
    assert later == _fresh(own_database, StatsGroupBy.STATUS) != everything


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (overdue.summary_json, {"as_of": None, "due_within": 30}),
        (trend.trend_json, {"interval": TrendInterval.MONTH, "start": None, "end": None}),
        (trend.trend_json, {"interval": TrendInterval.QUARTER, "start": None, "end": None}),
    ],
    ids=["overdue summary", "trend by month", "trend by quarter"],
)
def test_summaries_and_trends_are_kept_until_a_write_commits(
    own_database: Database, other_writer: Database, call: Any, kwargs: dict[str, Any]
) -> None:
    def kept() -> bytes:
        found = asyncio.run(
            run_kept_read(own_database, call, key="key", filters=ActionFilters(), **kwargs)
        )
        return _body(found)

    def fresh() -> bytes:
        with own_database.reader(snapshot=True) as connection:
            body: bytes = call(db=connection, filters=ActionFilters(), **kwargs)
            return body

    first = kept()
    assert own_database.answers.kept_bytes() == len(first)
    _move_first_action(other_writer, ActionStatus.IN_PROGRESS)
    _move_first_action(other_writer, ActionStatus.WITHDRAWN)
    statements = _Statements(own_database.engine)
    after = kept()
    assert statements.sent
    assert after == fresh() != first
    assert own_database.answers.kept_bytes() == len(after)


def test_a_stream_cut_short_is_not_kept(own_database: Database) -> None:
    async def first_chunk_only() -> None:
        body = await run_kept_read(
            own_database,
            stats.answer_json,
            key="by report",
            filters=ActionFilters(),
            group_by=StatsGroupBy.REPORT,
        )
        assert not isinstance(body, bytes)
        next(body)
        body.close()  # type: ignore[attr-defined]

    asyncio.run(first_chunk_only())
    assert own_database.answers.kept_bytes() == 0


def test_the_route_keeps_its_answer_until_a_write_commits(own_database: Database) -> None:
    with own_database.sessions.begin() as session:
        _token, secret = create_token(session=session, name="kept", role=Role.ADMIN)
    application = create_app()
    application.dependency_overrides[get_database] = lambda: own_database
    with TestClient(application, headers={"Authorization": f"Bearer {secret}"}) as client:
        first = client.get("/api/v1/stats?group_by=report")
        assert first.status_code == 200
        assert "content-encoding" not in first.headers  # streamed as read
        assert first.headers["vary"] == "Accept-Encoding"
        kept = own_database.answers.get(
            (
                ("/api/v1/stats", StatsParams(group_by=StatsGroupBy.REPORT).model_dump_json()),
                clock.today(),
            ),
            _version(own_database),
        )
        assert kept is not None and kept.gzipped
        assert gzip.decompress(kept.body) == first.content
        again = client.get("/api/v1/stats?group_by=report")
        assert again.headers["content-encoding"] == "gzip"
        assert again.content == first.content  # as decoded
        plain = client.get("/api/v1/stats?group_by=report", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == first.content
        action_id = client.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
        moved = client.post(
            f"/api/v1/actions/{action_id}/transitions", json={"to": "blocked", "comment": "waiting"}
        )
        assert moved.status_code == 200, moved.text
        after = client.get("/api/v1/stats?group_by=report")
        assert after.content != first.content
        assert after.json()["totals"]["counts"]["blocked"] == (
            first.json()["totals"]["counts"]["blocked"] + 1
        )


def test_a_lists_count_is_kept_until_a_write_commits(own_database: Database) -> None:
    with own_database.sessions.begin() as session:
        _token, secret = create_token(session=session, name="kept", role=Role.ADMIN)
    application = create_app()
    application.dependency_overrides[get_database] = lambda: own_database
    url = "/api/v1/actions?status=open&count=true&limit=2"
    with TestClient(application, headers={"Authorization": f"Bearer {secret}"}) as client:
        # As for the stats above: PostgreSQL's snapshot may move with any commit on the server.
        for _ in range(5):
            start = _version(own_database)
            first = client.get(url).json()
            statements = _Statements(own_database.engine)
            again = client.get(url).json()
            if _version(own_database) == start:
                break
        else:
            pytest.fail("the data version never held still")
        # The token looked up and the page read again; its count kept.
        (page,) = [sql for sql in statements.sent if "api_token" not in sql]
        assert "page_id" in page
        with own_database.reader() as connection:
            open_now = action_reads.count_actions(
                db=connection, filters=ActionFilters(statuses=("open",)), as_of=clock.today()
            )
        assert again == first and first["total"] == open_now > 0
        # The next page's count is kept under the first page's day, and is the same.
        following = client.get(f"{url}&cursor={first['next_cursor']}").json()
        assert following["total"] == open_now
        moved = client.post(
            f"/api/v1/actions/{first['items'][0]['id']}/transitions",
            json={"to": "in_progress", "comment": "started"},
        )
        assert moved.status_code == 200, moved.text
        assert client.get(url).json()["total"] == open_now - 1


def test_the_cache_keeps_the_latest_version_within_its_bytes() -> None:
    cache = AnswerCache(max_bytes=10)
    cache.put("a", "v1", Kept(b"aaaa"))
    assert cache.get("a", "v1") == Kept(b"aaaa")
    assert cache.get("a", "v2") is None
    cache.put("a", "v2", Kept(b"AAAA"))  # in place of the older version
    assert cache.get("a", "v1") is None
    assert cache.kept_bytes() == 4
    cache.put("b", "v2", Kept(b"bbbb"))
    cache.get("a", "v2")  # used: b is now the least recently used
    cache.put("c", "v2", Kept(b"cccc"))
    assert cache.get("b", "v2") is None
    assert cache.get("a", "v2") == Kept(b"AAAA")
    assert cache.get("c", "v2") == Kept(b"cccc")
    cache.put("d", "v2", Kept(b"d" * 11))  # larger than the whole budget
    assert cache.get("d", "v2") is None
    assert cache.kept_bytes() == 8


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("deflate, GZIP;q=0.5", True),
        ("x-gzip", True),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*", True),
        ("*;q=0", False),
        ("br, *;q=0.1", True),
        ("gzip;q=0, *", False),
        ("*, gzip;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_an_in_memory_sqlite_database_has_no_version() -> None:
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            assert DataVersions(engine).read(connection) is None
    finally:
        engine.dispose()


def test_the_sqlite_watcher_closes_with_its_engine(tmp_path: Path) -> None:
    path = tmp_path / "watched.db"
    engine = make_engine(f"sqlite:///{path}")
    versions = DataVersions(engine)

    def files_open() -> int:
        return sum(1 for fd in Path("/proc/self/fd").iterdir() if fd.resolve(strict=False) == path)

    try:
        with engine.connect() as connection:
            first = versions.read(connection)
        assert first is not None
        engine.dispose()
        assert files_open() == 0
        with engine.connect() as connection:
            again = versions.read(connection)
        # A new watcher, whose versions count afresh: never taken for the old one's.
        assert again is not None and again.split(":")[0] != first.split(":")[0]
    finally:
        engine.dispose()
