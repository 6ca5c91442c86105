"""GET /api/v1/actions/{id}/history: keyset pages (limit, cursor, Link), both orders, 422s."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ActionEvent
from app.principal import Principal
from app.services import history
from tests.helpers import add_note, assert_problem, first_action, move
from tests.query_data import fetch_all, next_link, select_statements, sql_statements

EVENTS = 120
# "user": the person who acted (added with token users; the other keys are as before).
EVENT_KEYS = {"id", "action_id", "kind", "actor", "user", "created_at", "changes", "comment"}


def _url(action_id: int) -> str:
    return f"/api/v1/actions/{action_id}/history"


def _event_ids(session: Session, action_id: int) -> list[int]:
    query = select(ActionEvent.id).where(ActionEvent.action_id == action_id)
    return list(session.scalars(query.order_by(ActionEvent.id)))


@pytest.fixture
def long_history(client: TestClient, seeded: int, session: Session) -> int:
    """An action with EVENTS events: its "created" and one "updated" per step after it."""
    action_id: int = first_action(client)["id"]
    loader = Principal(token_id=None, name="loader", role=None)
    steps = [(action_id, {"step": [n, n + 1]}) for n in range(EVENTS - 1)]
    history.record_many(session=session, events=steps, kind="updated", actor=loader)
    session.commit()
    assert len(_event_ids(session, action_id)) == EVENTS
    return action_id


@pytest.mark.parametrize("limit", [1, 7, 50, 119, 120, 500])
@pytest.mark.parametrize("sort", ["id", "-id"])
def test_pages_cover_every_event_once_in_order(
    client: TestClient, long_history: int, session: Session, sort: str, limit: int
) -> None:
    items = fetch_all(client, f"{_url(long_history)}?sort={sort}&limit={limit}", max_pages=200)
    expected = _event_ids(session, long_history)
    if sort == "-id":
        expected.reverse()
    assert [item["id"] for item in items] == expected
    assert items[0 if sort == "id" else -1]["kind"] == "created"
    steps = [item["changes"]["step"][0] for item in items if item["kind"] == "updated"]
    assert steps == (list(range(EVENTS - 1)) if sort == "id" else list(range(EVENTS - 2, -1, -1)))


def test_pages_are_full_but_the_last(client: TestClient, long_history: int) -> None:
    url: str | None = f"{_url(long_history)}?limit=50"
    sizes = []
    while url is not None:
        response = client.get(url)
        sizes.append(len(response.json()["items"]))
        url = next_link(response)
    assert sizes == [50, 50, 20]


def test_first_page_keeps_the_old_shape_and_defaults_to_50_oldest_first(
    client: TestClient, long_history: int, session: Session
) -> None:
    response = client.get(_url(long_history))
    assert response.status_code == 200
    body = response.json()
    assert body.keys() == {"items", "next_cursor", "total"} and body["total"] is None
    assert [item["id"] for item in body["items"]] == _event_ids(session, long_history)[:50]
    assert all(item.keys() == EVENT_KEYS for item in body["items"])
    assert body["items"][0]["created_at"].endswith("Z")
    assert isinstance(body["next_cursor"], str) and body["next_cursor"] in response.headers["link"]


def test_newest_first(client: TestClient, long_history: int, session: Session) -> None:
    body = client.get(f"{_url(long_history)}?sort=-id&limit=3").json()
    assert [item["id"] for item in body["items"]] == _event_ids(session, long_history)[:-4:-1]


def test_a_short_history_is_one_page_without_a_link(client: TestClient, seeded: int) -> None:
    action_id = first_action(client)["id"]
    for sort in ("id", "-id"):
        response = client.get(f"{_url(action_id)}?sort={sort}")
        assert response.status_code == 200
        assert [item["kind"] for item in response.json()["items"]] == ["created"]
        assert response.json()["next_cursor"] is None and "link" not in response.headers
    # A page exactly as long as what is left has no next page either.
    response = client.get(f"{_url(action_id)}?limit=1")
    assert response.json()["next_cursor"] is None and "link" not in response.headers


def test_link_replaces_the_cursor_and_keeps_the_other_parameters(
    client: TestClient, long_history: int
) -> None:
    query = [("sort", "-id"), ("limit", "10")]
    first = client.get(_url(long_history), params=query)
    second = client.get(next_link(first) or "")
    url = next_link(second)
    assert url is not None
    parts = urlsplit(url)
    assert parts.path == _url(long_history)
    assert parse_qsl(parts.query) == [*query, ("cursor", second.json()["next_cursor"])]


def test_events_written_between_pages_are_on_a_later_page_in_id_order(
    client: TestClient, long_history: int
) -> None:
    first = client.get(f"{_url(long_history)}?limit=100")
    comment = client.post(f"/api/v1/actions/{long_history}/comments", json={"comment": "late"})
    assert comment.status_code == 201
    rest = fetch_all(client, next_link(first) or "")
    assert [item["id"] for item in rest][-1] == comment.json()["id"]
    assert len(rest) == EVENTS - 100 + 1


_REVISION_COUNT = re.compile(
    r"\(SELECT count\(\*\) AS \w+\s+FROM action_event\s+WHERE action_event\.action_id = "
    r"action\.id AND action_event\.kind = [^\n]*?\) AS due_date_revisions"
)


def _reads_of_events(statements: list[str]) -> list[str]:
    return [s for s in select_statements(statements) if re.search(r"\bFROM action_event\b", s)]


def test_a_page_is_one_bounded_read_of_the_events(client: TestClient, long_history: int) -> None:
    with sql_statements() as statements:
        response = client.get(f"{_url(long_history)}?limit=10&sort=-id")
    assert len(response.json()["items"]) == 10
    (read,) = _reads_of_events(statements)
    assert re.search(r"\bLIMIT\b", read), read


def test_writes_never_read_the_history(client: TestClient, long_history: int) -> None:
    with sql_statements() as statements:
        patched = client.patch(f"/api/v1/actions/{long_history}", json={"title": "New title"})
        assert patched.status_code == 200, patched.text
        commented = client.post(f"/api/v1/actions/{long_history}/comments", json={"comment": "c"})
        assert commented.status_code == 201, commented.text
        assert move(client, long_history, "in_progress").status_code == 200
        add_note(client, long_history)
    # The action each write answers with counts its due-date revisions (a correlated count,
    # through the index on the action's events); nothing else of the history is read.
    reads = _reads_of_events(statements)
    assert reads and all(_REVISION_COUNT.search(read) for read in reads)
    assert not any(re.search(r"\bFROM action_event\b", _REVISION_COUNT.sub("", r)) for r in reads)
    inserts = [s for s in statements if re.match(r"\s*INSERT INTO action_event\b", s)]
    assert len(inserts) == 4


@pytest.mark.parametrize("limit", ["0", "-1", "501", "1.5", "x", ""])
def test_limit_out_of_bounds_is_a_422_naming_limit(
    client: TestClient, long_history: int, limit: str
) -> None:
    body = assert_problem(client.get(_url(long_history), params={"limit": limit}), 422)
    assert [(e["field"], e["in"]) for e in body["errors"]] == [("limit", "query")]


def test_limit_bounds_are_accepted(client: TestClient, long_history: int) -> None:
    assert len(client.get(f"{_url(long_history)}?limit=1").json()["items"]) == 1
    assert len(client.get(f"{_url(long_history)}?limit=500").json()["items"]) == EVENTS


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "at", "desc", "--id"])
def test_unknown_sort_is_a_422_naming_sort(
    client: TestClient, long_history: int, sort: str
) -> None:
    body = assert_problem(client.get(_url(long_history), params={"sort": sort}), 422)
    assert [e["field"] for e in body["errors"]] == ["sort"]


def _cursor(client: TestClient, url: str) -> str:
    cursor = client.get(url).json()["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def _encode(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def _decode(cursor: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    )
    return decoded


def _bad_cursor_problem(client: TestClient, url: str, cursor: str, **params: str) -> dict[str, Any]:
    body = assert_problem(client.get(url, params={**params, "cursor": cursor}), 422)
    assert [(e["field"], e["in"]) for e in body["errors"]] == [("cursor", "query")]
    assert "cursor" in body["detail"]
    return body


@pytest.mark.parametrize(
    "make",
    [
        lambda c: "not a cursor",
        lambda c: "!!!",
        lambda c: c[:-3],
        lambda c: _encode([1, 2]),
        lambda c: _encode({**_decode(c), "i": "5"}),
        lambda c: _encode({**_decode(c), "i": 0}),
        lambda c: _encode({**_decode(c), "i": -4}),
        lambda c: _encode({**_decode(c), "i": 2**31}),
        lambda c: _encode({**_decode(c), "i": 1.5}),
        lambda c: _encode({**_decode(c), "i": True}),
        lambda c: _encode({**_decode(c), "h": str(_decode(c)["h"])}),
        lambda c: _encode({**_decode(c), "extra": 1}),
        lambda c: _encode({k: v for k, v in _decode(c).items() if k != "s"}),
        lambda c: "x" * 1001,  # refused by its length, before it is read
    ],
)
def test_a_tampered_or_garbage_cursor_is_a_422_naming_cursor(
    client: TestClient, long_history: int, make: Any
) -> None:
    cursor = make(_cursor(client, f"{_url(long_history)}?limit=5"))
    body = assert_problem(
        client.get(_url(long_history), params={"limit": 5, "cursor": cursor}), 422
    )
    assert [(e["field"], e["in"]) for e in body["errors"]] == [("cursor", "query")]


def test_a_cursor_of_another_action_or_order_is_a_422(
    client: TestClient, long_history: int, session: Session
) -> None:
    cursor = _cursor(client, f"{_url(long_history)}?limit=5")
    other = session.scalar(
        select(ActionEvent.action_id).where(ActionEvent.action_id != long_history).limit(1)
    )
    assert other is not None
    body = _bad_cursor_problem(client, _url(other), cursor, limit="5")
    assert "another action" in body["detail"]
    body = _bad_cursor_problem(client, _url(long_history), cursor, limit="5", sort="-id")
    assert "sort=id, not sort=-id" in body["detail"]


def test_cursors_of_the_list_and_of_a_history_are_not_interchangeable(
    client: TestClient, long_history: int
) -> None:
    list_cursor = _cursor(client, "/api/v1/actions?limit=1")
    body = _bad_cursor_problem(client, _url(long_history), list_cursor, limit="5")
    assert "action list" in body["detail"]
    history_cursor = _cursor(client, f"{_url(long_history)}?limit=5")
    body = _bad_cursor_problem(client, "/api/v1/actions", history_cursor, limit="5")
    assert "history" in body["detail"]


def test_no_such_action_is_a_404_with_or_without_a_cursor(
    client: TestClient, long_history: int
) -> None:
    cursor = _cursor(client, f"{_url(long_history)}?limit=5")
    assert_problem(client.get(_url(99999)), 404)
    assert_problem(client.get(_url(99999), params={"cursor": cursor}), 404)


def test_openapi_documents_the_paging_parameters(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/actions/{action_id}/history"]
    names = {parameter["name"] for parameter in operation["get"]["parameters"]}
    assert {"action_id", "sort", "limit", "cursor"} <= names
    assert {"200", "404", "422"} <= operation["get"]["responses"].keys()
