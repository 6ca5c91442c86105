"""GET /api/v1/stats: GROUP BY figures checked against a count made by hand from the list."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus, Priority
from app.models import Action
from app.schemas.stats import StatsGroupBy, StatsOut
from app.services import stats_by_report
from tests.helpers import assert_problem
from tests.query_data import (
    AS_OF,
    Dataset,
    action_selects,
    fetch_all,
    sql_statements,
)


def _key(item: dict[str, Any], group_by: StatsGroupBy) -> Any:
    return item[
        {
            StatsGroupBy.STATUS: "status",
            StatsGroupBy.OWNER: "owner_id",
            StatsGroupBy.FORCE: "force",
            StatsGroupBy.REPORT: "report_id",
            StatsGroupBy.PILLAR: "pillar",
            StatsGroupBy.PRIORITY: "priority",
            StatsGroupBy.RAG: "rag",
            StatsGroupBy.STALE: "stale",
        }[group_by]
    ]


def _figures(items: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {status.value: 0 for status in ActionStatus}
    for item in items:
        counts[item["status"]] += 1
    overdue = [item for item in items if item["is_overdue"]]
    completed = [item for item in items if item["status"] == "completed"]
    oldest = min(overdue, key=lambda i: (-i["days_overdue"], i["id"]), default=None)
    return {
        "counts": counts,
        "total": len(items),
        "overdue": len(overdue),
        "completed_share": counts["completed"] / len(items) if items else 0.0,
        "oldest_overdue": oldest
        and {
            "action_id": oldest["id"],
            "reference": oldest["reference"],
            "due_date": oldest["due_date"],
            "days_overdue": oldest["days_overdue"],
        },
        "completed_on_time_original": _on_time(completed, "original_due_date"),
        "completed_on_time_revised": _on_time(completed, "due_date"),
    }


def _on_time(items: list[dict[str, Any]], due: str) -> int:
    # The UTC day of closed_at (shown in UTC, ending in Z or +00:00) against the due date.
    return sum(1 for item in items if item[due] and item["closed_at"][:10] <= item[due])


def hand_count(items: list[dict[str, Any]], group_by: StatsGroupBy) -> dict[str, Any]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[_key(item, group_by)].append(item)
    return {
        "groups": {key: _figures(members) for key, members in groups.items()},
        "totals": _figures(items),
    }


FILTER_SETS = [
    "",
    "&force=cumbria",
    "&status=open&status=blocked&status=completed&unassigned=false",
    "&overdue=true",
    "&priority=high&priority=critical&due_after=2030-01-05",
]


def test_the_unassigned_groups_oldest_overdue_action(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    # Looked up apart from the other groups' (its key is NULL).
    unassigned = session.scalars(
        select(Action).where(Action.owner_id.is_(None)).order_by(Action.id.desc())
    ).all()
    for days, action in zip((40, 40, 30), unassigned, strict=False):
        action.status, action.due_date = ActionStatus.OPEN, AS_OF - timedelta(days=days)
    session.commit()
    body = client.get(f"/api/v1/stats?group_by=owner&as_of={AS_OF}").json()
    group = body["groups"][-1]
    assert group["key"] is None and group["overdue"] >= 3
    oldest = min(unassigned[0].id, unassigned[1].id)
    assert group["oldest_overdue"]["action_id"] == oldest
    assert group["oldest_overdue"]["days_overdue"] == 40


@pytest.mark.parametrize("filters", FILTER_SETS)
@pytest.mark.parametrize("group_by", list(StatsGroupBy), ids=[g.value for g in StatsGroupBy])
def test_stats_match_a_hand_count_of_the_list(
    client: TestClient, dataset: Dataset, group_by: StatsGroupBy, filters: str
) -> None:
    response = client.get(f"/api/v1/stats?group_by={group_by.value}&as_of={AS_OF}{filters}")
    assert response.status_code == 200, response.text
    body = response.json()
    StatsOut.model_validate(body)
    items = fetch_all(client, f"/api/v1/actions?limit=5&as_of={AS_OF}{filters}")
    assert items
    expected = hand_count(items, group_by)
    got = {group["key"]: group for group in body["groups"]}
    assert got.keys() == expected["groups"].keys()
    for key, figures in expected["groups"].items():
        group = dict(got[key])
        del group["key"], group["label"]
        assert group == figures, key
    totals = body["totals"]
    assert totals == expected["totals"]
    assert body["group_by"] == group_by.value and body["as_of"] == AS_OF.isoformat()


def test_the_data_exercises_every_figure(client: TestClient, dataset: Dataset) -> None:
    body = client.get(f"/api/v1/stats?group_by=owner&as_of={AS_OF}").json()
    assert len(body["groups"]) == 3
    assert body["totals"]["total"] == 23
    assert 0 < body["totals"]["overdue"] < 23
    assert 0 < body["totals"]["completed_share"] < 1
    assert sum(1 for g in body["groups"] if g["oldest_overdue"]) >= 2
    totals = body["totals"]
    on_time = (totals["completed_on_time_original"], totals["completed_on_time_revised"])
    assert min(on_time) > 0 and max(on_time) < totals["counts"]["completed"]
    assert on_time[0] != on_time[1]


def test_labels_and_order(client: TestClient, dataset: Dataset) -> None:
    def stats(group_by: str) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = client.get(f"/api/v1/stats?group_by={group_by}").json()[
            "groups"
        ]
        return groups

    owners = stats("owner")
    assert [(g["key"], g["label"]) for g in owners] == [
        (dataset.alice, "Alice Smith"),
        (dataset.bob, "bob Jones"),
        (None, "Unassigned"),
    ]
    assert [g["key"] for g in stats("status")] == [s.value for s in ActionStatus]
    assert [g["key"] for g in stats("priority")] == [p.value for p in Priority]
    assert [g["label"] for g in stats("force")] == ["Cumbria", "Durham", "Kent"]
    titles = {r["id"]: r["title"] for r in client.get("/api/v1/reports").json()["items"]}
    assert {g["key"]: g["label"] for g in stats("report")} == titles
    assert [g["label"] for g in stats("pillar")] == ["Effectiveness", "Efficiency", "Leadership"]


def test_stats_default_to_status_and_today(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = AS_OF + timedelta(days=60)
    monkeypatch.setattr(clock, "today", lambda: late)
    body = client.get("/api/v1/stats").json()
    assert body["group_by"] == "status" and body["as_of"] == late.isoformat()
    at_as_of = client.get(f"/api/v1/stats?as_of={AS_OF}").json()
    assert body["totals"]["overdue"] > at_as_of["totals"]["overdue"]


def test_no_matching_actions(client: TestClient, dataset: Dataset) -> None:
    body = client.get("/api/v1/stats?force=Nowhere").json()
    assert body["groups"] == []
    assert body["totals"] == {
        "counts": {status.value: 0 for status in ActionStatus},
        "total": 0,
        "overdue": 0,
        "completed_share": 0.0,
        "oldest_overdue": None,
        "completed_on_time_original": 0,
        "completed_on_time_revised": 0,
    }


@pytest.mark.parametrize("group_by", list(StatsGroupBy), ids=[g.value for g in StatsGroupBy])
def test_stats_read_actions_in_three_group_by_statements_and_one_lookup(
    client: TestClient, dataset: Dataset, group_by: StatsGroupBy
) -> None:
    # However many groups: counts per status, overdue per group, completed on time per group
    # (the completed actions alone), then the oldest's references.
    with sql_statements() as statements:
        response = client.get(f"/api/v1/stats?group_by={group_by.value}&as_of={AS_OF}")
    assert response.status_code == 200
    assert any(group["oldest_overdue"] for group in response.json()["groups"])
    selects = action_selects(statements)
    assert len(selects) == 4
    assert ["GROUP BY" in select.upper() for select in selects] == [True, True, True, False]
    # Never joined to the reports row by row: only the per-report counts are.
    assert all("JOIN report" not in select.split("GROUP BY")[0] for select in selects[:1])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=colour", "group_by"),
        ("status=bogus", "status"),
        ("overdue=sometimes", "overdue"),
        ("as_of=2030-02-30", "as_of"),
    ],
)
def test_invalid_stats_parameters(client: TestClient, query: str, field: str) -> None:
    body = assert_problem(client.get(f"/api/v1/stats?{query}"), 422)
    assert {e["field"].split(".")[0] for e in body["errors"]} == {field}


@pytest.mark.parametrize("query", ["", "&status=open&status=completed", "&status=superseded"])
def test_todays_stats_by_report_stream_the_bytes_of_the_whole_answer(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    monkeypatch.setattr(stats_by_report, "GROUPS_PER_CHUNK", 1)
    written: list[bytes] = []
    chunks = stats_by_report.ReportStats.chunks
    monkeypatch.setattr(
        stats_by_report.ReportStats,
        "chunks",
        lambda self: (written.append(c) or c for c in chunks(self)),
    )
    streamed = client.get(f"/api/v1/stats?group_by=report{query}")
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "application/json"
    groups = StatsOut.model_validate_json(streamed.content).groups
    assert len(groups) > 1
    assert len(written) == len(groups) + 2, "the start, a chunk per group, the totals"
    # The answer as the other group_bys make it: orjson's bytes of the whole dict.
    monkeypatch.setattr(stats_by_report, "answers", lambda **_: False)
    whole = client.get(f"/api/v1/stats?group_by=report{query}")
    assert streamed.content == whole.content
