""" "Overdue" is said once in SQL (OVERDUE, DAYS_OVERDUE) and once in Python (days_overdue): the
two give the same answers for every status, due date and withdrawn finding."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus
from app.models import Action, Finding
from app.services.overdue_rule import DAYS_OVERDUE, OVERDUE, days_overdue
from tests.query_data import AS_OF, Dataset, everything, fetch_all


def test_sql_and_python_agree_on_every_action(session: Session, dataset: Dataset) -> None:
    # One finding withdrawn, so that the rule's last clause is exercised too.
    first = session.scalars(select(Finding).order_by(Finding.id)).first()
    assert first is not None
    first.withdrawn_at = clock.utcnow()
    for action in session.scalars(select(Action).where(Action.finding_id == first.id)):
        action.status, action.due_date = ActionStatus.OPEN, AS_OF - timedelta(days=30)
    session.commit()

    columns = (Action.id, Action.status, Action.due_date, Finding.withdrawn_at)
    for as_of in (AS_OF - timedelta(days=5), AS_OF, AS_OF + timedelta(days=20)):
        rows = session.execute(
            select(*columns, OVERDUE.label("overdue"), DAYS_OVERDUE.label("days")).join(
                Finding, Action.finding_id == Finding.id
            ),
            {"as_of": as_of},
        ).all()
        assert any(row.overdue for row in rows) and not all(row.overdue for row in rows)
        assert any(row.withdrawn_at is not None and row.due_date < as_of for row in rows)
        for row in rows:
            in_python = days_overdue(
                status=row.status,
                due_date=row.due_date,
                finding_withdrawn=row.withdrawn_at is not None,
                as_of=as_of,
            )
            assert (in_python, in_python > 0) == (row.days, bool(row.overdue)), row


def test_the_overdue_filter_selects_what_the_rows_say_is_overdue(
    client: TestClient, dataset: Dataset
) -> None:
    shown = everything(client)
    filtered = fetch_all(client, f"/api/v1/actions?limit=500&as_of={AS_OF}&overdue=true")
    assert {item["id"] for item in filtered} == {item["id"] for item in shown if item["is_overdue"]}
    assert all(item["days_overdue"] > 0 for item in filtered)
    assert filtered
