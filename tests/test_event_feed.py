"""Issue 16: the event feed, keyset paged oldest first, and the sequencer behind it."""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app import migrate
from tests.conftest import fresh_database
from tests.helpers import assert_problem, move

# The two-transactions case needs PostgreSQL; it runs in the SQLite run of the suite as well.
POSTGRES_URL = os.environ.get(
    "AFI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def sequence() -> list[int]:
    from app.db import SessionLocal
    from app.services import event_feed

    with SessionLocal.begin() as session:
        return event_feed.sequence(session=session)


def read_all(client: TestClient, url: str) -> tuple[list[dict[str, Any]], str | None]:
    """Every event by following the Link headers; and the last page's next_cursor."""
    items: list[dict[str, Any]] = []
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        link = response.headers.get("link")
        assert (link is not None) == body["has_more"]
        if link is None:
            return items, body["next_cursor"]
        url = link.split(">")[0].lstrip("<")


def test_the_feed_pages_every_event_once_oldest_first_and_polls_on(
    client: TestClient, seeded: int
) -> None:
    empty = client.get("/api/v1/events").json()
    assert empty == {"items": [], "next_cursor": None, "has_more": False}
    sequence()
    items, cursor = read_all(client, "/api/v1/events?limit=7")
    actions = client.get("/api/v1/actions?limit=500").json()["items"]
    assert len(items) == len(actions) + 1
    assert len({item["id"] for item in items}) == len(items)
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)
    assert items[-1]["type"] == "report.imported"
    assert items[0].keys() == {"id", "type", "timestamp", "data"}
    assert cursor is not None

    # At the end: the same cursor, nothing new until a change is taken in by the sequencer.
    assert client.get(f"/api/v1/events?after={cursor}").json()["items"] == []
    assert move(client, actions[0]["id"], "in_progress").status_code == 200
    assert client.get(f"/api/v1/events?after={cursor}").json()["items"] == []
    sequence()
    page = client.get(f"/api/v1/events?after={cursor}").json()
    assert [(e["type"], e["data"]["action_id"]) for e in page["items"]] == [
        ("action.status_changed", actions[0]["id"])
    ]
    assert page["has_more"] is False
    assert client.get(f"/api/v1/events?after={page['next_cursor']}").json()["items"] == []


def test_the_feed_filters_by_type_and_viewers_read_it(
    client: TestClient, client_as: Any, anonymous: TestClient, seeded: int
) -> None:
    action = client.get("/api/v1/actions?limit=1").json()["items"][0]["id"]
    client.post(f"/api/v1/actions/{action}/comments", json={"comment": "One"})
    move(client, action, "in_progress")
    sequence()
    viewer = client_as("viewer")
    url = "/api/v1/events?type=action.comment_added&type=report.imported&type=report.imported"
    items = viewer.get(url).json()["items"]
    assert [item["type"] for item in items] == ["report.imported", "action.comment_added"]
    assert items[1]["data"]["comment"] == "One"
    assert_problem(anonymous.get("/api/v1/events"), 401)


def test_a_bad_cursor_or_type_is_a_422_naming_it(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/events?after=nonsense"), 422)
    assert body["errors"][0]["field"] == "after"
    history_cursor = "eyJoIjoxLCJzIjoiaWQiLCJpIjoxfQ"  # an action history's
    body = assert_problem(client.get(f"/api/v1/events?after={history_cursor}"), 422)
    assert body["errors"][0]["field"] == "after"
    body = assert_problem(client.get("/api/v1/events?type=action.deleted"), 422)
    assert body["errors"][0]["field"] == "type.0"
    assert_problem(client.get("/api/v1/events?limit=0"), 422)


def _insert_event(session: Session, type_: str) -> int:
    row = session.execute(
        text(
            "INSERT INTO outbox_event (type, created_at, payload) "
            "VALUES (:type, now(), '{}') RETURNING id"
        ),
        {"type": type_},
    )
    return int(row.scalar_one())


def test_an_event_committed_after_a_higher_id_still_comes_after_what_was_read() -> None:
    """PostgreSQL: transaction A takes id N, B takes N+1 and commits first. The feed read then
    must not pass N for good: N is positioned after N+1 once A commits."""
    from app.db import Database
    from app.services import event_feed

    with fresh_database(POSTGRES_URL) as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        database = Database(engine)
        try:
            with Session(engine) as first, Session(engine) as second:
                early = _insert_event(first, "action.created")  # not committed yet
                late = _insert_event(second, "action.created")
                second.commit()
                assert late > early
                with database.sessions.begin() as session:
                    assert event_feed.sequence(session=session) == [late]
                with database.reader() as db:
                    seen = event_feed.page(db=db, after=None, types=(), limit=10)
                assert [item["id"] for item in seen["items"]] == [late]
                first.commit()
                with database.sessions.begin() as session:
                    assert event_feed.sequence(session=session) == [early]
                with database.reader() as db:
                    after = event_feed.page(db=db, after=seen["next_cursor"], types=(), limit=10)
                assert [item["id"] for item in after["items"]] == [early]
        finally:
            engine.dispose()


def test_two_sequencers_at_once_never_give_a_position_twice() -> None:
    """PostgreSQL: concurrent sequencers queue on the advisory lock."""
    from app.db import Database
    from app.models import OutboxEvent
    from app.services import event_feed

    with fresh_database(POSTGRES_URL) as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        database = Database(engine)
        try:
            with Session(engine) as session:
                for _ in range(300):
                    _insert_event(session, "action.created")
                session.commit()
            barrier = threading.Barrier(3)
            done: list[list[int]] = []

            def run() -> None:
                barrier.wait()
                for _ in range(3):
                    with database.sessions.begin() as session:
                        done.append(event_feed.sequence(session=session, limit=50))

            threads = [threading.Thread(target=run) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with Session(engine) as session:
                positions = session.scalars(select(OutboxEvent.position)).all()
            assert sorted(p for p in positions if p is not None) == list(range(1, 301))
            assert sorted(i for ids in done for i in ids) == list(range(1, 301))
        finally:
            engine.dispose()
