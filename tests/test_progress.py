"""Progress assessment (issue 15): RAG and percent complete set with a dated progress note, and
"stale" (no progress update for AFI_STALE_AFTER_DAYS) said once in SQL and once in Python."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus
from app.models import Action
from app.services.stale_rule import STALE, is_stale, stale_before
from app.settings import get_settings
from tests.helpers import assert_problem, first_action
from tests.query_data import AS_OF, Dataset, everything, fetch_all

NOW = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


def _events(client: TestClient, action_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/actions/{action_id}/history?limit=500")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _frozen(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: moment)


# --- setting RAG and percent complete ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"rag": "red"},
        {"percent_complete": 40},
        {"rag": None},
        {"rag": "amber", "progress_note": None},
        {"rag": "amber", "progress_note": "   "},
        {"percent_complete": 40, "title": "A new title"},
    ],
)
def test_rag_or_percent_without_a_progress_note_is_refused(
    client: TestClient, seeded: int, body: dict[str, Any]
) -> None:
    action = first_action(client)
    response = client.patch(f"/api/v1/actions/{action['id']}", json=body)
    problem = assert_problem(response, 422)
    assert problem["field"] == "progress_note"
    assert [error["field"] for error in problem["errors"]] == ["progress_note"]
    after = client.get(f"/api/v1/actions/{action['id']}").json()
    assert after["version"] == action["version"] and after["rag"] is None
    assert after["last_progress_at"] is None


def test_a_progress_update_is_stored_dated_and_recorded(
    client: TestClient, seeded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = first_action(client)
    assert (action["rag"], action["percent_complete"], action["last_progress_at"]) == (
        None,
        None,
        None,
    )
    _frozen(monkeypatch, NOW)
    response = client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"rag": "amber", "percent_complete": 40, "progress_note": "Training half done"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rag"] == "amber" and body["percent_complete"] == 40
    assert body["progress_note"] == "Training half done"
    assert body["last_progress_at"] == "2030-01-01T10:00:00Z"
    assert body["version"] == action["version"] + 1
    assert client.get(f"/api/v1/actions/{action['id']}").json() == body
    (event,) = [e for e in _events(client, action["id"]) if e["kind"] == "progress_updated"]
    assert event["changes"] == {
        "progress_note": [None, "Training half done"],
        "rag": [None, "amber"],
        "percent_complete": [None, 40],
        "last_progress_at": [None, "2030-01-01T10:00:00+00:00"],
    }

    # A later update: only what changed, dated anew; RAG may be cleared (with a note).
    later = NOW + timedelta(days=3)
    _frozen(monkeypatch, later)
    response = client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"rag": None, "percent_complete": 40, "progress_note": "Reassessing"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rag"] is None and body["last_progress_at"] == "2030-01-04T10:00:00Z"
    last = _events(client, action["id"])[-1]
    assert last["kind"] == "progress_updated"
    assert last["changes"] == {
        "progress_note": ["Training half done", "Reassessing"],
        "rag": ["amber", None],
        "last_progress_at": ["2030-01-01T10:00:00+00:00", "2030-01-04T10:00:00+00:00"],
    }


def test_other_fields_are_not_a_progress_update(
    client: TestClient, seeded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = first_action(client)
    _frozen(monkeypatch, NOW)
    body = client.patch(f"/api/v1/actions/{action['id']}", json={"priority": "high"}).json()
    assert body["last_progress_at"] is None
    assert [e["kind"] for e in _events(client, action["id"])][-1] == "updated"
    # The same note again changes nothing: no event, no new date.
    client.patch(f"/api/v1/actions/{action['id']}", json={"progress_note": "Started"})
    _frozen(monkeypatch, NOW + timedelta(days=1))
    again = client.patch(f"/api/v1/actions/{action['id']}", json={"progress_note": "Started"})
    assert again.json()["last_progress_at"] == "2030-01-01T10:00:00Z"
    kinds = [e["kind"] for e in _events(client, action["id"])]
    assert kinds.count("progress_updated") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("percent_complete", -1),
        ("percent_complete", 101),
        ("percent_complete", "50"),
        ("percent_complete", 50.0),
        ("percent_complete", 12.5),
        ("percent_complete", True),
        ("rag", "purple"),
        ("rag", "RED"),
        ("rag", 1),
    ],
)
def test_rag_and_percent_are_validated(
    client: TestClient, seeded: int, field: str, value: Any
) -> None:
    action = first_action(client)
    response = client.patch(
        f"/api/v1/actions/{action['id']}", json={field: value, "progress_note": "Note"}
    )
    problem = assert_problem(response, 422)
    assert field in {error["field"] for error in problem["errors"]}


@pytest.mark.parametrize("percent", [0, 100])
def test_percent_bounds_are_allowed(client: TestClient, seeded: int, percent: int) -> None:
    action = first_action(client)
    response = client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"percent_complete": percent, "progress_note": "Note"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["percent_complete"] == percent


# --- the stale rule --------------------------------------------------------------------------


def _stale_on(client: TestClient, action_id: int, day: date) -> bool:
    one = client.get(f"/api/v1/actions/{action_id}?as_of={day}").json()["stale"]
    listed = fetch_all(client, f"/api/v1/actions?as_of={day}&stale=true&limit=500")
    assert one == (action_id in {item["id"] for item in listed})
    assert isinstance(one, bool)
    return one


def test_stale_across_as_of_days(
    client: TestClient, seeded: int, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = first_action(client)["id"]
    action = session.get(Action, action_id)
    assert action is not None
    action.created_at = NOW  # 2030-01-01, never updated since: counted from here
    session.commit()
    days = get_settings().stale_after_days
    assert days == 90
    created = NOW.date()
    # An update on the cut-off day still counts; the day after, the action is stale.
    assert not _stale_on(client, action_id, created)
    assert not _stale_on(client, action_id, created + timedelta(days=90))
    assert _stale_on(client, action_id, created + timedelta(days=91))

    # A progress update on day 91 (12:00 UTC) makes it fresh again for another 90 days.
    update = NOW + timedelta(days=91, hours=2)
    _frozen(monkeypatch, update)
    response = client.patch(
        f"/api/v1/actions/{action_id}", json={"rag": "green", "progress_note": "Back on track"}
    )
    assert response.status_code == 200, response.text
    assert not _stale_on(client, action_id, update.date())
    assert not _stale_on(client, action_id, update.date() + timedelta(days=90))
    assert _stale_on(client, action_id, update.date() + timedelta(days=91))
    # As judged on a day before the update, it is the update that counts (the state is today's).
    assert not _stale_on(client, action_id, created + timedelta(days=91))

    # The setting moves the cut-off.
    monkeypatch.setattr(get_settings(), "stale_after_days", 30)
    assert _stale_on(client, action_id, update.date() + timedelta(days=31))
    assert not _stale_on(client, action_id, update.date() + timedelta(days=30))

    # Without an as_of, today (the app clock's) is the day.
    _frozen(monkeypatch, update + timedelta(days=31))
    assert client.get(f"/api/v1/actions/{action_id}").json()["stale"] is True

    # Only actions still to be done are stale.
    action = session.get(Action, action_id)
    assert action is not None
    session.refresh(action)
    action.status = ActionStatus.COMPLETED
    session.commit()
    assert not _stale_on(client, action_id, update.date() + timedelta(days=400))


def test_sql_and_python_agree_on_stale(session: Session, dataset: Dataset) -> None:
    actions = session.scalars(select(Action).order_by(Action.id)).all()
    # Updated and created on either side of each cut-off, some exactly on it.
    for i, action in enumerate(actions):
        action.created_at = datetime(2029, 9, 1, tzinfo=UTC) + timedelta(days=9 * (i % 7))
        if action.last_progress_at is not None or i % 4 == 0:
            action.last_progress_at = datetime(2029, 10, 17, 23, 30, tzinfo=UTC) + timedelta(
                days=3 * (i % 5)
            )
    # Exactly on the cut-off of AS_OF: an update then still counts.
    on_cut_off = [actions[0], actions[1]]
    for action in on_cut_off:
        action.status = ActionStatus.OPEN
    actions[0].last_progress_at = stale_before(AS_OF)
    actions[1].last_progress_at, actions[1].created_at = None, stale_before(AS_OF)
    session.commit()
    columns = (Action.id, Action.status, Action.last_progress_at, Action.created_at)
    seen = set()
    for as_of in (AS_OF - timedelta(days=60), AS_OF, AS_OF + timedelta(days=20)):
        before = stale_before(as_of)
        rows = session.execute(
            select(*columns, STALE.label("stale")), {"stale_before": before}
        ).all()
        for row in rows:
            in_python = is_stale(
                status=row.status,
                last_progress_at=row.last_progress_at,
                created_at=row.created_at,
                before=before,
            )
            assert in_python == bool(row.stale), row
            if as_of == AS_OF and row.id in {action.id for action in on_cut_off}:
                assert not in_python
            seen.add((in_python, row.last_progress_at is None))
    assert seen == {(True, True), (True, False), (False, True), (False, False)}


# --- filters and groups ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "selects"),
    [
        ("rag=red", lambda item: item["rag"] == "red"),
        ("rag=red&rag=green", lambda item: item["rag"] in ("red", "green")),
        ("stale=true", lambda item: item["stale"]),
        ("stale=false", lambda item: not item["stale"]),
        ("rag=amber&stale=true", lambda item: item["rag"] == "amber" and item["stale"]),
    ],
)
def test_rag_and_stale_filter_the_list_csv_stats_and_summary(
    client: TestClient, dataset: Dataset, query: str, selects: Any
) -> None:
    shown = everything(client)
    expected = [item for item in shown if selects(item)]
    assert expected and len(expected) < len(shown)

    listed = fetch_all(client, f"/api/v1/actions?limit=7&as_of={AS_OF}&{query}")
    assert [item["id"] for item in listed] == [item["id"] for item in expected]

    response = client.get(f"/api/v1/actions?format=csv&as_of={AS_OF}&{query}")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert [int(row["id"]) for row in rows] == [item["id"] for item in expected]
    assert [(row["rag"], row["stale"], row["percent_complete"]) for row in rows] == [
        (
            item["rag"] or "",
            "true" if item["stale"] else "false",
            "" if item["percent_complete"] is None else str(item["percent_complete"]),
        )
        for item in expected
    ]

    stats = client.get(f"/api/v1/stats?as_of={AS_OF}&{query}").json()
    assert stats["totals"]["total"] == len(expected)
    assert stats["totals"]["overdue"] == sum(item["is_overdue"] for item in expected)

    summary = client.get(f"/api/v1/actions/overdue-summary?as_of={AS_OF}&{query}")
    assert summary.status_code == 200, summary.text
    active = [item for item in expected if item["status"] in ("open", "in_progress", "blocked")]
    assert summary.json()["checked"] == len(active)
    assert summary.json()["overdue"] == sum(item["is_overdue"] for item in active)


@pytest.mark.parametrize("query", ["rag=purple", "stale=sometimes", "stale=1"])
def test_invalid_rag_and_stale_filters(client: TestClient, query: str) -> None:
    problem = assert_problem(client.get(f"/api/v1/actions?{query}"), 422)
    name = query.split("=")[0]
    assert {error["field"].split(".")[0] for error in problem["errors"]} == {name}


@pytest.mark.parametrize("group_by", ["rag", "stale"])
def test_group_by_rag_and_stale_match_a_recount(
    client: TestClient, dataset: Dataset, group_by: str
) -> None:
    shown = everything(client)
    body = client.get(f"/api/v1/stats?as_of={AS_OF}&group_by={group_by}").json()
    recount: dict[Any, dict[str, int]] = {}
    for item in shown:
        group = recount.setdefault(item[group_by], {"total": 0, "overdue": 0})
        group["total"] += 1
        group["overdue"] += item["is_overdue"]
    got = {g["key"]: {"total": g["total"], "overdue": g["overdue"]} for g in body["groups"]}
    assert got == recount
    labels = [(group["key"], group["label"]) for group in body["groups"]]
    if group_by == "rag":
        assert labels == [
            ("green", "green"),
            ("amber", "amber"),
            ("red", "red"),
            (None, "(no RAG)"),
        ]
    else:
        assert labels == [(True, "stale"), (False, "not stale")]
