"""action.report_id is its finding's report, however the action came to be."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Action, Finding


def _mismatched(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Action.id)
            .join(Finding, Action.finding_id == Finding.id)
            .where(Action.report_id != Finding.report_id)
        )
    )


def test_imported_and_added_actions_carry_their_findings_report(
    client: TestClient, seeded: int, session: Session
) -> None:
    finding_id = session.scalars(select(Finding.id).order_by(Finding.id.desc())).first()
    created = client.post("/api/v1/actions", json={"finding_id": finding_id, "title": "Extra"})
    assert created.status_code == 201, created.text
    assert created.json()["report_id"] == seeded
    actions = session.scalars(select(Action)).all()
    assert len(actions) > 1 and {action.report_id for action in actions} == {seeded}
    assert _mismatched(session) == []
