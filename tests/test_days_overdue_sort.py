"""Sorting by days overdue reads the overdue actions and the others as two segments (see
app.services.action_reads): the pages join up into exactly the order of (days, id), whatever
the filters leave in each segment and wherever a page boundary falls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Action
from tests.query_data import AS_OF, Dataset, everything, fetch_all


def _expected(items: list[dict[str, Any]], descending: bool) -> list[int]:
    ordered = sorted(items, key=lambda i: (i["days_overdue"], i["id"]), reverse=descending)
    return [i["id"] for i in ordered]


@pytest.mark.parametrize("sort", ["days_overdue", "-days_overdue"])
@pytest.mark.parametrize("overdue", [None, True, False])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_pages_follow_days_then_id_across_both_segments(
    client: TestClient, dataset: Dataset, sort: str, overdue: bool | None, limit: int
) -> None:
    every = everything(client)
    if overdue is not None:
        every = [i for i in every if i["is_overdue"] is overdue]
    url = f"/api/v1/actions?sort={sort}&limit={limit}&as_of={AS_OF}"
    if overdue is not None:
        url += f"&overdue={str(overdue).lower()}"
    got = fetch_all(client, url)
    assert [i["id"] for i in got] == _expected(every, sort.startswith("-"))
    # Both segments are there to cross (or the filter leaves just one).
    overdue_seen = {i["is_overdue"] for i in got}
    assert overdue_seen == ({True, False} if overdue is None else {overdue})


def test_overdue_actions_due_on_the_same_day_go_by_id(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    overdue = [i["id"] for i in everything(client) if i["is_overdue"]]
    assert len(overdue) >= 3
    shared_day = AS_OF - timedelta(days=9)
    for action in session.scalars(select(Action).where(Action.id.in_(overdue[:3]))):
        action.due_date = shared_day
    session.commit()
    every = everything(client)
    for sort in ("days_overdue", "-days_overdue"):
        got = fetch_all(client, f"/api/v1/actions?sort={sort}&limit=1&as_of={AS_OF}")
        assert [i["id"] for i in got] == _expected(every, sort.startswith("-"))
    tied = [i for i in every if i["days_overdue"] == 9]
    assert len(tied) >= 3
