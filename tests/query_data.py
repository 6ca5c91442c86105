"""The data set and helpers the action query tests share (list, CSV, stats)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus, Priority
from app.models import Action, Finding, Owner
from app.services import states

AS_OF = date(2030, 1, 15)
FAR_FUTURE = date(9999, 12, 31)
BASE_TIME = datetime(2029, 6, 1, 9, 0, tzinfo=UTC)
PROGRESS_TIME = datetime(2029, 12, 1, 9, 0, tzinfo=UTC)

DURHAM = """Durham PEEL 2016/17
Efficiency
How well does the force understand the demand for its services?
The force has a good understanding of demand.
Areas for improvement
- The force should improve its workforce planning, using "demand" data.
- The force should publish 100%_of its plans.
Causes of concern
- The force should fix its ICT systems quickly.
How well does the force use its resources?
The force uses its resources well.
Recommendations
- The force should review its estate by March.
"""

KENT = """Kent CRIME 2019
Leadership
How well is the force led?
Leadership is good.
Areas for improvement
- The force should develop its leaders.
- The force should vet all new leaders.
"""


@dataclass(frozen=True)
class Dataset:
    cumbria: int
    durham: int
    kent: int
    alice: int
    bob: int
    ids: list[int]


def build_dataset(session: Session, cumbria: int) -> Dataset:
    """The seed report plus two more (23 actions), with varied statuses, priorities, due dates
    (some NULL, some shared), owners and update times (some shared)."""
    from app.principal import system
    from app.services.reports import import_text

    # Kent first, so that ordering by reference differs from ordering by id.
    kent = import_text(session=session, raw=KENT, metadata={}, actor=system("tests")).report.id
    durham = import_text(session=session, raw=DURHAM, metadata={}, actor=system("tests")).report.id
    now = clock.utcnow()
    alice = Owner(
        name="Alice Smith", email="alice@example.org", team="Crime", created_at=now, updated_at=now
    )
    bob = Owner(name="bob Jones", email=None, team=None, created_at=now, updated_at=now)
    session.add_all([alice, bob])
    session.flush()
    actions = session.scalars(select(Action).order_by(Action.id)).all()
    statuses, priorities = list(ActionStatus), list(Priority)
    for i, action in enumerate(actions):
        action.status = statuses[i % 7]
        action.priority = priorities[(i * 3) % 4]
        action.priority_rank = priorities[(i * 3) % 4].rank
        action.due_date = None if i % 6 == 0 else AS_OF + timedelta(days=(i * 11) % 31 - 15)
        action.owner_id = (alice.id, bob.id, None)[i % 3]
        action.updated_at = BASE_TIME + timedelta(minutes=(i * 7) % 10)
        if action.status == ActionStatus.COMPLETED:
            # Closed by both due dates, or by the revised one alone (put back 9 days).
            closed = datetime(2030, 1, 15, 23, 30, tzinfo=UTC)  # AS_OF, late (UTC)
            action.closed_at = closed + timedelta(days=(i * 19) % 23 - 11)
            if action.due_date is not None:
                action.original_due_date = action.due_date + timedelta(days=(i % 3 - 2) * 9)
        action.rag = (None, "green", "amber", "red")[i % 4]
        # Updated within AFI_STALE_AFTER_DAYS of AS_OF, or never (created now: long before).
        action.last_progress_at = PROGRESS_TIME if i % 5 in (1, 2) else None
    actions[4].description = 'Line one, with a comma and "quotes"\nline two; =1+2'
    # Changed here rather than through the services: their states too (answers on past days).
    states.begin(session=session, action_ids=[a.id for a in actions], at=clock.utcnow())
    session.commit()
    return Dataset(cumbria, durham, kent, alice.id, bob.id, [a.id for a in actions])


def add_action(session: Session, *, due: date | None, priority: Priority, reference: str) -> int:
    finding_id = session.scalars(select(Finding.id).order_by(Finding.id)).first()
    assert finding_id is not None
    now = clock.utcnow()
    action = Action(
        finding_id=finding_id,
        reference=reference,
        title=f"Added {reference}",
        description="Added while paging",
        status=ActionStatus.OPEN,
        priority=priority,
        priority_rank=priority.rank,
        due_date=due,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    states.begin(session=session, action_ids=[action.id], at=now)
    session.commit()
    return action.id


def next_link(response: Any) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    match = re.fullmatch(r'<(http://testserver)?(/[^>]+)>; rel="next"', link)
    assert match, link
    return match.group(2)


def fetch_all(client: TestClient, url: str, *, max_pages: int = 100) -> list[dict[str, Any]]:
    """Every item of a listing, following Link headers; checks next_cursor agrees with Link."""
    items: list[dict[str, Any]] = []
    current: str | None = url
    for _ in range(max_pages):
        assert current is not None
        response = client.get(current)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        current = next_link(response)
        assert (current is None) == (body["next_cursor"] is None)
        if current is None:
            return items
    raise AssertionError("too many pages")


def everything(client: TestClient) -> list[dict[str, Any]]:
    return fetch_all(client, f"/api/v1/actions?limit=500&as_of={AS_OF}")


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Statements sent to the database while the block runs; the savepoints the test fixtures
    wrap every session in are left out (the service does not issue them)."""
    from app.db import engine

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not re.match(
            r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", statement, re.I
        ):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def select_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def action_selects(statements: list[str]) -> list[str]:
    """The SELECTs that read actions (not, say, the token lookup of authentication)."""
    return [s for s in select_statements(statements) if re.search(r"\bFROM action\b", s)]
