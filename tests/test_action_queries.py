"""GET /api/v1/actions: filters, sorts, keyset pages, cursors, count, 422s, SQL per request."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

import app.db as app_db
from app import clock
from app.enums import Priority
from app.schemas.actions import ActionOut
from app.schemas.filters import ActionSort
from app.services.action_pages import page_statement
from app.services.page_plans import Plan
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import assert_problem
from tests.query_data import (
    AS_OF,
    FAR_FUTURE,
    Dataset,
    action_selects,
    add_action,
    everything,
    fetch_all,
    next_link,
    select_statements,
    sql_statements,
)


def _words(item: dict[str, Any]) -> list[str]:
    text = " ".join(item[name] or "" for name in ("reference", "title", "description", "question"))
    return re.findall(r"[^\W_]+", text.lower())


def _has_words(item: dict[str, Any], *words: str, prefix: bool = False) -> bool:
    """Whether the item's text has these words one after the other (the last as a prefix)."""
    found, size = _words(item), len(words)
    for start in range(len(found) - size + 1):
        here = found[start : start + size]
        if here[:-1] == list(words[:-1]) and (
            here[-1].startswith(words[-1]) if prefix else here[-1] == words[-1]
        ):
            return True
    return False


# --- filters ---------------------------------------------------------------------------------

Predicate = Callable[[dict[str, Any], Dataset], bool]

FILTERS: list[tuple[str, Predicate]] = [
    ("status=open", lambda i, d: i["status"] == "open"),
    ("status=open&status=blocked", lambda i, d: i["status"] in ("open", "blocked")),
    ("priority=high", lambda i, d: i["priority"] == "high"),
    ("priority=low&priority=critical", lambda i, d: i["priority"] in ("low", "critical")),
    ("owner_id={alice}", lambda i, d: i["owner_id"] == d.alice),
    ("unassigned=true", lambda i, d: i["owner_id"] is None),
    ("unassigned=false", lambda i, d: i["owner_id"] is not None),
    ("force=DURHAM", lambda i, d: i["force"] == "Durham"),
    ("year=2016", lambda i, d: i["year"] == "2016/17"),
    ("year=2016/17", lambda i, d: i["year"] == "2016/17"),
    ("year=2015", lambda i, d: i["year"] == "2015"),
    ("programme=crime", lambda i, d: i["force"] == "Kent"),
    ("pillar=efficiency", lambda i, d: i["pillar"] == "Efficiency"),
    ("report_id={durham}", lambda i, d: i["report_id"] == d.durham),
    ("kind=cause_of_concern", lambda i, d: i["kind"] == "cause_of_concern"),
    ("kind=area_for_improvement", lambda i, d: i["kind"] == "area_for_improvement"),
    ("overdue=true", lambda i, d: i["is_overdue"]),
    ("overdue=false", lambda i, d: not i["is_overdue"]),
    ("due_before=2030-01-10", lambda i, d: bool(i["due_date"]) and i["due_date"] < "2030-01-10"),
    ("due_after=2030-01-10", lambda i, d: bool(i["due_date"]) and i["due_date"] > "2030-01-10"),
    ("q=ict", lambda i, d: _has_words(i, "ict")),
    ("q=Afi-0*", lambda i, d: _has_words(i, "afi", "0", prefix=True)),
    ("q=100%25_", lambda i, d: _has_words(i, "100")),
    ("q=workforce", lambda i, d: _has_words(i, "workforce")),
    (
        "status=open&status=in_progress&status=blocked&unassigned=false&due_before=2030-01-20",
        lambda i, d: (
            i["status"] in ("open", "in_progress", "blocked")
            and i["owner_id"] is not None
            and bool(i["due_date"])
            and i["due_date"] < "2030-01-20"
        ),
    ),
]


@pytest.mark.parametrize(("query", "predicate"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_selects_exactly_the_matching_actions(
    client: TestClient, dataset: Dataset, query: str, predicate: Predicate
) -> None:
    every = everything(client)
    assert len(every) == 23
    expected = [item["id"] for item in every if predicate(item, dataset)]
    assert 0 < len(expected) < len(every), "the data must let this filter make a difference"
    query = query.format(alice=dataset.alice, durham=dataset.durham)
    got = fetch_all(client, f"/api/v1/actions?{query}&as_of={AS_OF}&limit=7")
    assert [item["id"] for item in got] == expected


@pytest.mark.parametrize("query", ["owner_id=999999", "report_id=999999", "force=Nowhere"])
def test_unknown_values_match_nothing(client: TestClient, dataset: Dataset, query: str) -> None:
    response = client.get(f"/api/v1/actions?{query}")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None, "total": None}
    assert "link" not in response.headers


def test_statements_reused_per_filter_shape_take_each_requests_values(
    client: TestClient, dataset: Dataset
) -> None:
    # The list, count and stats statements are built once per combination of filters and
    # reused: the second request with the same filters but other values must not see the first's.
    for force in ("Durham", "Kent", "Durham"):
        page = client.get(f"/api/v1/actions?force={force}&count=true&limit=500").json()
        assert page["items"], force
        assert {item["force"] for item in page["items"]} == {force}
        assert page["total"] == len(page["items"])
        stats = client.get(f"/api/v1/stats?group_by=force&force={force}").json()
        assert [group["key"] for group in stats["groups"]] == [force]
        assert stats["totals"]["total"] == page["total"]


def test_filters_combine_with_and(client: TestClient, dataset: Dataset) -> None:
    got = client.get(f"/api/v1/actions?owner_id={dataset.alice}&unassigned=true").json()
    assert got["items"] == []


def test_overdue_is_judged_on_as_of_and_defaults_to_today(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def overdue_ids(query: str) -> list[int]:
        return [
            i["id"] for i in fetch_all(client, f"/api/v1/actions?overdue=true&limit=500{query}")
        ]

    early, late = AS_OF - timedelta(days=30), AS_OF + timedelta(days=30)
    assert overdue_ids(f"&as_of={early}") == []
    at_late = overdue_ids(f"&as_of={late}")
    assert len(at_late) > len(overdue_ids(f"&as_of={AS_OF}")) > 0
    monkeypatch.setattr(clock, "today", lambda: late)
    assert overdue_ids("") == at_late
    item = client.get("/api/v1/actions?overdue=true&limit=1").json()["items"][0]
    assert item["days_overdue"] == (late - date.fromisoformat(item["due_date"])).days > 0


# --- sorting -----------------------------------------------------------------------------------


# Relevance needs a search: tests/test_search.py pages through it.
PLAIN_SORTS = [sort for sort in ActionSort if sort.field != "relevance"]


def _sort_value(item: dict[str, Any], field: str) -> Any:
    if field == "due_date":
        return item["due_date"] or FAR_FUTURE.isoformat()
    if field == "priority":
        return Priority(item["priority"]).rank
    if field == "updated_at":
        return datetime.fromisoformat(item["updated_at"])
    return item[field]


@pytest.mark.parametrize("sort", PLAIN_SORTS, ids=[s.value for s in PLAIN_SORTS])
def test_each_sort_in_both_directions_pages_through_everything_in_order(
    client: TestClient, dataset: Dataset, sort: ActionSort
) -> None:
    every = everything(client)
    expected = sorted(
        every, key=lambda i: (_sort_value(i, sort.field), i["id"]), reverse=sort.descending
    )
    got = fetch_all(client, f"/api/v1/actions?sort={sort.value}&limit=4&as_of={AS_OF}")
    assert [i["id"] for i in got] == [i["id"] for i in expected]
    if sort.field != "id":  # the data makes every other order differ from the id order
        assert [i["id"] for i in got] not in (sorted(dataset.ids), sorted(dataset.ids)[::-1])


@pytest.mark.parametrize("sort", [ActionSort.REFERENCE, ActionSort.REFERENCE_DESC])
@pytest.mark.parametrize(
    "query",
    ["force=cumbria", "force=kent", "programme=peel&status=open", "year=2015", "force=Nowhere"],
)
def test_report_filters_by_reference_are_every_match_in_order(
    client: TestClient, dataset: Dataset, session: Session, query: str, sort: ActionSort
) -> None:
    """Their first page starts at the first (last) reference of the reports matched
    (app.services.action_pages): with actions whose references sort before and after every
    other of their report, pages are still every match in order, on any day."""
    for reference in ("AAA-before-all", "zzz-after-all"):
        add_action(session, due=None, priority=Priority.LOW, reference=reference)
    for as_of in (AS_OF, clock.today()):
        url = f"/api/v1/actions?{query}&as_of={as_of}"
        matching = fetch_all(client, f"{url}&limit=100")
        expected = sorted(
            matching, key=lambda i: (i["reference"], i["id"]), reverse=sort.descending
        )
        got = fetch_all(client, f"{url}&sort={sort.value}&limit=3")
        assert [i["id"] for i in got] == [i["id"] for i in expected]
        if query.startswith("force=cumbria"):
            assert {"AAA-before-all", "zzz-after-all"} <= {i["reference"] for i in got}


def test_due_date_sort_puts_undated_actions_last_ascending_and_first_descending(
    client: TestClient, dataset: Dataset
) -> None:
    ascending = fetch_all(client, "/api/v1/actions?sort=due_date&limit=3")
    descending = fetch_all(client, "/api/v1/actions?sort=-due_date&limit=3")
    undated = sum(1 for i in ascending if i["due_date"] is None)
    assert undated >= 3
    assert all(i["due_date"] is None for i in ascending[-undated:])
    assert all(i["due_date"] is None for i in descending[:undated])
    assert all(i["due_date"] is not None for i in descending[undated:])


def test_days_overdue_sort_follows_the_days_shown(client: TestClient, dataset: Dataset) -> None:
    got = fetch_all(client, f"/api/v1/actions?sort=-days_overdue&limit=5&as_of={AS_OF}")
    days = [i["days_overdue"] for i in got]
    assert days == sorted(days, reverse=True) and days[0] > 0 and days[-1] == 0


def test_default_order_is_by_id_and_default_limit_is_50(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    for n in range(30):
        add_action(session, due=None, priority=Priority.LOW, reference=f"EXTRA-{n:02d}")
    body = client.get("/api/v1/actions").json()
    ids = [i["id"] for i in body["items"]]
    assert len(ids) == 50 and ids == sorted(ids) and body["next_cursor"]
    assert len(client.get("/api/v1/actions?limit=500").json()["items"]) == 53


# --- pages, cursors, count ---------------------------------------------------------------------


@pytest.mark.parametrize("sort", PLAIN_SORTS, ids=[s.value for s in PLAIN_SORTS])
def test_pages_neither_lose_nor_repeat_items_while_actions_are_added(
    client: TestClient, dataset: Dataset, session: Session, sort: ActionSort
) -> None:
    before = {i["id"] for i in everything(client)}
    seen: list[int] = []
    url: str | None = f"/api/v1/actions?sort={sort.value}&limit=4&as_of={AS_OF}"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.text
        seen.extend(i["id"] for i in response.json()["items"])
        url = next_link(response)
        pages += 1
        # Between pages, add actions that sort at both ends and in the middle.
        tag = uuid.uuid4().hex[:8].upper()
        add_action(session, due=date(2000, 1, 1), priority=Priority.CRITICAL, reference=f"A-{tag}")
        add_action(session, due=None, priority=Priority.LOW, reference=f"Z-{tag}")
        add_action(session, due=AS_OF, priority=Priority.MEDIUM, reference=f"M-{tag}")
        assert pages < 40
    assert pages >= 6
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert before <= set(seen), "an item that existed throughout was lost"


def test_link_header_carries_every_filter_and_stops_on_the_last_page(
    client: TestClient, dataset: Dataset
) -> None:
    first = client.get(f"/api/v1/actions?status=open&status=blocked&limit=2&as_of={AS_OF}")
    url = next_link(first)
    assert url is not None
    assert "status=open" in url and "status=blocked" in url and "limit=2" in url
    assert first.json()["next_cursor"] in url
    pages = fetch_all(client, f"/api/v1/actions?status=open&status=blocked&limit=2&as_of={AS_OF}")
    assert {i["status"] for i in pages} == {"open", "blocked"}
    assert len(pages) > 2
    last = client.get(f"/api/v1/actions?status=open&status=blocked&limit={len(pages)}")
    assert "link" not in last.headers and last.json()["next_cursor"] is None


def test_link_replaces_the_cursor_and_keeps_every_other_parameter_as_given(
    client: TestClient, dataset: Dataset
) -> None:
    query = [("status", "open"), ("status", "blocked"), ("limit", "2"), ("as_of", str(AS_OF))]
    second = client.get(next_link(client.get(f"/api/v1/actions?{urlencode(query)}")) or "")
    url = next_link(second)
    assert url is not None
    parts = urlsplit(url)
    assert parts.path == "/api/v1/actions"
    assert parse_qsl(parts.query) == [*query, ("cursor", second.json()["next_cursor"])]


def test_count_only_when_asked(client: TestClient, dataset: Dataset) -> None:
    plain = client.get("/api/v1/actions?limit=2&status=open").json()
    assert plain["total"] is None
    url: str | None = "/api/v1/actions?limit=2&status=open&count=true"
    totals = []
    while url is not None:
        response = client.get(url)
        totals.append(response.json()["total"])
        url = next_link(response)
    expected = len(fetch_all(client, "/api/v1/actions?status=open&limit=500"))
    assert expected > 2
    assert totals == [expected] * len(totals) and len(totals) == (expected + 1) // 2


def _cursor_for(client: TestClient, query: str) -> str:
    cursor = client.get(f"/api/v1/actions?{query}").json()["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def _encode(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def _decode(cursor: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    )
    return decoded


def _tampered(cursor: str, **changes: Any) -> str:
    return _encode({**_decode(cursor), **changes})


def test_a_good_cursor_continues_where_the_page_ended(client: TestClient, dataset: Dataset) -> None:
    cursor = _cursor_for(client, f"sort=-priority&limit=5&as_of={AS_OF}")
    second = client.get(f"/api/v1/actions?sort=-priority&limit=5&as_of={AS_OF}&cursor={cursor}")
    assert second.status_code == 200
    whole = client.get(f"/api/v1/actions?sort=-priority&limit=10&as_of={AS_OF}").json()["items"]
    assert [i["id"] for i in second.json()["items"]] == [i["id"] for i in whole[5:]]


@pytest.mark.parametrize(
    "make",
    [
        lambda c: "garbage",
        lambda c: "!!!not-base64!!!",
        lambda c: c[:-3],
        lambda c: c[:10] + ("A" if c[10] != "A" else "B") + c[11:],
        lambda c: base64.urlsafe_b64encode(b"\xff\xfe binary").decode(),
        lambda c: _encode([1, 2, 3]),
        lambda c: _encode({"i": 3}),
        lambda c: _tampered(c, s="due_date"),
        lambda c: _tampered(c, f="0000000000000000"),
        lambda c: _tampered(c, k="not a number"),
        lambda c: _tampered(c, k=True),
        lambda c: _tampered(c, i="7"),
        lambda c: _tampered(c, i=-1),
        lambda c: _tampered(c, i=10**30),
        lambda c: _tampered(c, a="yesterday"),
        lambda c: _tampered(c, extra=1),
    ],
)
def test_tampered_or_garbage_cursor_is_a_422_naming_cursor(
    client: TestClient, dataset: Dataset, make: Callable[[str], str]
) -> None:
    cursor = _cursor_for(client, "sort=-priority&limit=5&status=open&status=blocked")
    response = client.get(
        "/api/v1/actions",
        params={
            "sort": "-priority",
            "limit": 5,
            "status": ["open", "blocked"],
            "cursor": make(cursor),
        },
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["cursor"]
    assert "cursor" in body["detail"]


@pytest.mark.parametrize(
    ("sort", "changes"),
    [
        # Valid ISO 8601 with an offset, but no UTC equivalent: before datetime.min, after max.
        ("updated_at", {"k": "0001-01-01T00:00:00+14:00"}),
        ("-updated_at", {"k": "9999-12-31T23:59:59-14:00"}),
        ("updated_at", {"k": "2029-06-01T09:00:00"}),  # no offset
        ("updated_at", {"k": "2029-06-31T09:00:00+00:00"}),
        ("updated_at", {"k": 1_900_000_000}),
        ("updated_at", {"k": None}),
        ("due_date", {"k": "2030-02-30"}),
        ("due_date", {"k": 20300115}),
        ("reference", {"k": "CUM\u0000-1"}),  # PostgreSQL text cannot hold NUL
        ("reference", {"k": "x" * 1001}),
        ("reference", {"k": 7}),
        ("priority", {"k": 2**40}),  # beyond the INTEGER column
        ("priority", {"k": 1.5}),
        ("-days_overdue", {"k": -(2**62)}),
        ("id", {"k": "x"}),
        ("id", {"i": 2**40}),
        ("-id", {"i": 0}),
        ("id", {"a": "2030-01-15T00:00:00"}),
        ("id", {"a": None}),
    ],
)
def test_a_cursor_that_decodes_to_an_unusable_position_is_a_422_naming_cursor(
    client: TestClient, dataset: Dataset, sort: str, changes: dict[str, Any]
) -> None:
    cursor = _tampered(_cursor_for(client, f"sort={sort}&limit=3"), **changes)
    response = client.get("/api/v1/actions", params={"sort": sort, "limit": 3, "cursor": cursor})
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["cursor"]
    assert "cursor" in body["detail"]


@pytest.mark.parametrize("sort", ["updated_at", "-updated_at"])
def test_an_updated_at_cursor_in_another_offset_means_the_same_moment(
    client: TestClient, dataset: Dataset, sort: str
) -> None:
    query = f"sort={sort}&limit=4&as_of={AS_OF}"
    cursor = _cursor_for(client, query)
    moment = datetime.fromisoformat(_decode(cursor)["k"])
    assert moment.utcoffset() == timedelta(0)
    elsewhere = moment.astimezone(timezone(timedelta(hours=-9, minutes=-30))).isoformat()
    expected = client.get(f"/api/v1/actions?{query}&cursor={cursor}").json()["items"]
    response = client.get(
        "/api/v1/actions",
        params={"sort": sort, "limit": 4, "as_of": AS_OF, "cursor": _tampered(cursor, k=elsewhere)},
    )
    assert response.status_code == 200, response.text
    assert [i["id"] for i in response.json()["items"]] == [i["id"] for i in expected]
    assert expected


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("days", [0, 5])
def test_a_cursor_with_an_extreme_day_pages_or_is_refused(
    client: TestClient, dataset: Dataset, as_of: str, days: int
) -> None:
    # A position 5 days overdue on the first day there is cannot be: refused, not a 500.
    cursor = _tampered(_cursor_for(client, "sort=-days_overdue&limit=3"), a=as_of, k=days)
    response = client.get(f"/api/v1/actions?sort=-days_overdue&limit=50&cursor={cursor}")
    if as_of == "0001-01-01" and days > 0:
        assert assert_problem(response, 422)["errors"][0]["field"] == "cursor"
        return
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len({i["id"] for i in items}) == len(items)


@pytest.mark.parametrize("days", [1_000_000, 2**31 - 1, -1])
def test_a_days_overdue_cursor_past_any_date_is_refused(
    client: TestClient, dataset: Dataset, days: int
) -> None:
    cursor = _tampered(_cursor_for(client, f"sort=-days_overdue&limit=3&as_of={AS_OF}"), k=days)
    response = client.get(f"/api/v1/actions?sort=-days_overdue&as_of={AS_OF}&cursor={cursor}")
    assert assert_problem(response, 422)["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("made_with", "used_with"),
    [
        ("sort=due_date", "sort=-due_date"),
        ("sort=due_date", "sort=reference"),
        ("sort=reference&status=open", "sort=reference&status=blocked"),
        ("q=force", "q=forces"),
        (f"as_of={AS_OF}", f"as_of={AS_OF + timedelta(days=1)}"),
    ],
)
def test_a_cursor_is_tied_to_its_sort_filters_and_day(
    client: TestClient, dataset: Dataset, made_with: str, used_with: str
) -> None:
    cursor = _cursor_for(client, f"{made_with}&limit=2")
    body = assert_problem(client.get(f"/api/v1/actions?{used_with}&limit=2&cursor={cursor}"), 422)
    assert body["errors"][0]["field"] == "cursor"


def test_later_pages_keep_the_first_pages_day(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    cursor = _cursor_for(client, "sort=-days_overdue&limit=2")
    monkeypatch.setattr(clock, "today", lambda: AS_OF + timedelta(days=400))
    items = client.get(f"/api/v1/actions?sort=-days_overdue&limit=50&cursor={cursor}").json()[
        "items"
    ]
    for item in items:
        expected = (AS_OF - date.fromisoformat(item["due_date"])).days if item["is_overdue"] else 0
        assert item["days_overdue"] == expected
    assert any(i["is_overdue"] for i in items)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("status=open&status=done", "status"),
        ("priority=urgent", "priority"),
        ("owner_id=abc", "owner_id"),
        ("owner_id=0", "owner_id"),
        ("owner_id=99999999999999999999999", "owner_id"),
        ("unassigned=maybe", "unassigned"),
        ("report_id=x", "report_id"),
        ("kind=finding", "kind"),
        ("overdue=2", "overdue"),
        ("due_before=2030-13-01", "due_before"),
        ("due_after=soon", "due_after"),
        ("as_of=yesterday", "as_of"),
        ("sort=title", "sort"),
        ("sort=--due_date", "sort"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("count=perhaps", "count"),
        ("format=xml", "format"),
        ("q=" + "x" * 201, "q"),
        ("q=%25", "q"),
        ("q=_", "q"),
        ("sort=relevance", "sort"),
        ("sort=-relevance&status=open", "sort"),
        ("force=" + "x" * 201, "force"),
        ("cursor=" + "x" * 1001, "cursor"),
    ],
)
def test_invalid_parameters_are_422_problems_naming_the_parameter(
    client: TestClient, query: str, field: str
) -> None:
    body = assert_problem(client.get(f"/api/v1/actions?{query}"), 422)
    fields = {e["field"].split(".")[0] for e in body["errors"]}
    assert fields == {field}
    assert field in body["detail"]


# --- shape and cost ----------------------------------------------------------------------------


def test_items_are_exactly_what_the_schema_describes(client: TestClient, dataset: Dataset) -> None:
    response = client.get(f"/api/v1/actions?limit=500&as_of={AS_OF}")
    assert response.headers["content-type"] == "application/json"
    items = response.json()["items"]
    assert any(i["owner"] for i in items) and any(i["owner"] is None for i in items)
    for item in items:
        assert ActionOut.model_validate(item).model_dump(mode="json") == item
    alice = next(i for i in items if i["owner_id"] == dataset.alice)
    assert alice["owner"] == {
        "id": dataset.alice,
        "name": "Alice Smith",
        "email": "alice@example.org",
        "team": "Crime",
    }


@pytest.fixture
def reader(anonymous: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A client that needs no token lookup: anonymous, with public reads switched on."""
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "public_read", True)
    return anonymous


# A page filtered by report attributes first counts the reports they match, to choose how to
# read the actions (app.services.page_plans.plan_for); the counts are kept a while, so the
# cursor's next page does not count them again.
_REPORT_SHARE = 1


@pytest.mark.parametrize(
    ("query", "most", "selects"),
    [
        ("", 2, 1),
        ("sort=-priority&force=cumbria", 2 + _REPORT_SHARE, 1 + _REPORT_SHARE),
        ("sort=-days_overdue&overdue=false&unassigned=false&q=force", 2, 1),
        ("count=true", 3, 2),
        ("count=true&sort=due_date&status=open&status=blocked", 3, 2),
    ],
)
def test_one_statement_per_page(
    reader: TestClient,
    dataset: Dataset,
    query: str,
    most: int,
    selects: int,
) -> None:
    reader.get("/api/v1/actions")  # warm up: no first-request-only queries counted
    with sql_statements() as statements:
        response = reader.get(f"/api/v1/actions?{query}&limit=2")
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) >= 1
    assert len(statements) <= most, statements
    assert len(select_statements(statements)) == selects, statements
    cursor = response.json()["next_cursor"]
    assert cursor
    with sql_statements() as statements:
        again = reader.get(f"/api/v1/actions?{query}&limit=2&cursor={cursor}")
    assert again.status_code == 200
    kept = _REPORT_SHARE if "force=" in query else 0
    # By due date SQLite reads the rest of the cursor's date, then, the page being short here,
    # the dates beyond it (app.services.action_pages.parts_statements).
    later_dates = "sort=due_date" in query and app_db.engine.dialect.name == "sqlite"
    assert len(statements) <= most - kept + later_dates, statements
    assert len(select_statements(statements)) == selects - kept + later_dates, statements


def test_with_a_token_the_page_is_still_one_action_statement(
    client: TestClient, dataset: Dataset
) -> None:
    client.get("/api/v1/actions")
    with sql_statements() as statements:
        response = client.get("/api/v1/actions?limit=500")
    assert response.status_code == 200 and len(response.json()["items"]) == 23
    assert len(action_selects(statements)) == 1, statements


@pytest.mark.parametrize(
    "query",
    [
        "force=cumbria",
        "force=cumbria&sort=-due_date",
        "year=2015&sort=priority&status=open&status=in_progress",
        "pillar=effectiveness&sort=-days_overdue",
        "programme=peel&sort=reference&unassigned=false",
        "force=cumbria&sort=updated_at&overdue=false",
    ],
)
def test_each_way_of_reading_a_page_gives_the_same_pages(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """Report filters choose how the ids are read (in sort order, through the planner, or all
    matches then sorted: `Plan`); whichever is chosen, every page is the same."""
    from app.services import page_plans

    url = f"/api/v1/actions?{query}&limit=2&as_of=2030-01-01"
    seen = []
    for share in (0.0, 1.0):  # report filters never narrow enough, then always
        monkeypatch.setattr(page_plans, "_FEW_REPORTS", {"sqlite": share, "postgresql": share})
        seen.append([item["id"] for item in fetch_all(client, url)])
    assert seen[0] and seen[0] == seen[1]


def test_narrow_report_filters_are_collected_then_sorted_on_postgresql(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    from app.schemas.filters import ActionFilters
    from app.services import action_pages, page_plans
    from app.services.action_filters import filter_values

    shape, params = filter_values(filters=ActionFilters(force="cumbria"), as_of=date(2030, 1, 1))
    connection = session.connection()
    narrow = {"sqlite": 1.0, "postgresql": 1.0}
    monkeypatch.setattr(page_plans, "_FEW_REPORTS", narrow)
    expected = "seek" if TEST_DATABASE_URL.startswith("sqlite") else "collect"
    assert page_plans.plan_for(connection, shape, params) == expected
    monkeypatch.setattr(page_plans, "_FEW_REPORTS", {"sqlite": 0.0, "postgresql": 0.0})
    expected = "walk" if TEST_DATABASE_URL.startswith("sqlite") else "seek"
    assert page_plans.plan_for(connection, shape, params) == expected
    statement = action_pages.page_statement(
        shape, ActionSort.ID, False, page_plans.Plan.COLLECT, action_pages.PAGE_COLUMNS
    )
    assert "OFFSET" in str(statement.compile(connection))


@pytest.mark.parametrize("plan", [Plan.WALK, Plan.SEEK])
@pytest.mark.parametrize(
    ("shape", "bound"),
    [
        (("due_after",), "> :due_after"),
        (("due_before",), "< :due_before"),
        (("overdue",), "< :as_of"),
    ],
)
def test_a_page_by_due_date_starts_at_the_filters_bound_on_its_key(
    shape: tuple[str, ...], bound: str, plan: Plan
) -> None:
    # Filters on the due date bound the sort's key itself, so that the read of its index
    # starts (or stops) there: tested on the due date of each action walked, they read every
    # action before the first match (page 1 of due_after by due date: 2.6 s on SQLite and
    # 1.9 s on PostgreSQL at 1M actions; overdue by -due_date 0.7 and 0.4 s).
    for sort in (ActionSort.DUE_DATE, ActionSort.DUE_DATE_DESC):
        sql = str(
            page_statement(shape, sort, False, plan).compile(
                dialect=sqlite.dialect(paramstyle="named")
            )
        )
        assert f"coalesce(action.due_date, '9999-12-31') {bound}" in sql, sql
        assert f"+(coalesce(action.due_date, '9999-12-31') {bound}" not in sql, sql
