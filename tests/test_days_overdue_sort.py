"""Sorting by days overdue reads the overdue actions and the others as two segments (see
app.services.action_reads): the pages join up into exactly the order of (days, id), whatever
the filters leave in each segment and wherever a page boundary falls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

import app.db as app_db
from app.custom_plans import CUSTOM_PLAN
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


@contextmanager
def _marked_custom_plan() -> Iterator[list[bool]]:
    """Whether each statement sent while the block runs was marked app.custom_plans.CUSTOM_PLAN."""
    marked: list[bool] = []

    def record(*args: Any) -> None:
        context = args[4]
        marked.append(context is not None and bool(context.execution_options.get(CUSTOM_PLAN)))

    event.listen(app_db.engine, "before_cursor_execute", record)
    try:
        yield marked
    finally:
        event.remove(app_db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("as_of", [AS_OF, date(2026, 1, 15)])
def test_an_owners_overdue_actions_are_planned_for_that_owner_each_time(
    client: TestClient, dataset: Dataset, as_of: date
) -> None:
    """The best plan for an owner's overdue actions depends on how many the owner holds: that
    statement alone is planned for its values every time, not by a generic plan made for an
    average owner (PostgreSQL); every other statement of a page may be prepared."""
    owner = f"owner_id={dataset.alice}&as_of={as_of}"
    for query, expected in [
        (f"{owner}&sort=-days_overdue", True),
        (f"{owner}&sort=days_overdue", True),
        (f"{owner}&sort=-days_overdue&overdue=true", True),
        (f"{owner}&sort=due_date", False),
        (f"{owner}", False),
        (f"sort=-days_overdue&as_of={as_of}", False),
    ]:
        with _marked_custom_plan() as marked:
            client.get(f"/api/v1/actions?{query}").raise_for_status()
        assert any(marked) is expected, query
        assert marked.count(True) <= 1, query
