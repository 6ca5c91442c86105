"""action.report_id is its finding's report, however the action came to be."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import utcnow
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


def test_an_action_inserted_without_its_report_is_refused(session: Session, seeded: int) -> None:
    finding = session.scalars(select(Finding)).first()
    assert finding is not None
    row = {
        "finding_id": finding.id,
        "reference": "NO-REPORT-1",
        "title": "t",
        "description": "d",
        "status": "open",
        "priority": "medium",
        "priority_rank": 1,
        "created_at": utcnow(),
        "updated_at": utcnow(),
        "version": 1,
    }
    with pytest.raises(IntegrityError, match="report_id"):
        session.execute(insert(Action.__table__), row)
