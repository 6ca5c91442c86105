"""A search's count with statuses (`q` and `status`, `count=true`): on PostgreSQL it is read
from the search table alone, whose rows hold each action's status (migration 0025) in the same
GIN index as the document; here the count is checked against a recount after every kind of
write, the table's statuses against the actions', and the plan against the index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from app import clock
from app.db import SessionLocal
from app.models import Action, Finding, Report
from app.principal import system
from app.schemas.filters import ActionFilters
from app.services import action_filters, action_reads
from app.services.reports import import_text
from app.services.search_index import TABLE_NAME, status_params
from tests.history_scenario import clock_at
from tests.query_data import KENT, fetch_all

STATUS_SETS = [("open",), ("in_progress",), ("open", "blocked"), ("completed", "in_progress")]
QUERIES = ["force", "leader*", '"the force"']


def _count(client: TestClient, q: str, statuses: tuple[str, ...], **extra: str) -> int:
    query = urlencode(
        [("q", q), *(("status", s) for s in statuses), ("count", "true"), *extra.items()]
    )
    body = client.get(f"/api/v1/actions?{query}&limit=1")
    assert body.status_code == 200, body.text
    total: int = body.json()["total"]
    return total


def _listed(client: TestClient, q: str, statuses: tuple[str, ...]) -> list[int]:
    query = urlencode([("q", q), *(("status", s) for s in statuses), ("limit", "200")])
    return [item["id"] for item in fetch_all(client, f"/api/v1/actions?{query}")]


def _recount(client: TestClient, q: str, statuses: tuple[str, ...]) -> int:
    """The search's matches (listed without a status) whose action has one of the statuses."""
    matches = fetch_all(client, "/api/v1/actions?" + urlencode({"q": q, "limit": "200"}))
    return sum(1 for item in matches if item["status"] in statuses)


def _index_statuses(connection: Connection) -> dict[int, str] | None:
    """PostgreSQL: each indexed action's status as the search table holds it; SQLite's FTS5
    table holds none (None)."""
    if connection.dialect.name != "postgresql":
        return None
    rows = connection.execute(text(f"SELECT action_id, status FROM {TABLE_NAME}"))
    return {row[0]: row[1] for row in rows}


def _action_statuses(connection: Connection) -> dict[int, str]:
    return {row[0]: row[1] for row in connection.execute(select(Action.id, Action.status))}


def _check(client: TestClient, connection: Connection) -> None:
    """Every search and status set counts what a recount finds; the index's statuses are the
    actions' (PostgreSQL)."""
    indexed = _index_statuses(connection)
    if indexed is not None:
        assert indexed == _action_statuses(connection)
    for q in QUERIES:
        for statuses in STATUS_SETS:
            expected = _recount(client, q, statuses)
            assert _count(client, q, statuses) == expected, (q, statuses)
            assert len(_listed(client, q, statuses)) == expected, (q, statuses)


def _move(client: TestClient, action_id: int, to: str) -> None:
    body = {"to": to, "comment": "Waiting on a supplier."}
    response = client.post(f"/api/v1/actions/{action_id}/transitions", json=body)
    assert response.status_code == 200, response.text


def _import(raw: str) -> int:
    with SessionLocal.begin() as session:
        return import_text(session=session, raw=raw, metadata={}, actor=system("tests")).report.id


def test_counts_with_statuses_follow_every_write(
    client: TestClient, seeded: int, session: Session, db_connection: Connection
) -> None:
    ids = session.scalars(select(Action.id).order_by(Action.id)).all()
    _check(client, db_connection)

    # Transitions, one by one through the service.
    for action_id, to in zip(ids[:6], ["in_progress", "in_progress", "blocked"] * 2, strict=True):
        _move(client, action_id, to)
    _move(client, ids[0], "blocked")
    _check(client, db_connection)
    counts = {statuses: _count(client, "force", statuses) for statuses in STATUS_SETS}
    assert len(set(counts.values())) > 1, counts  # the statuses tell the matches apart

    # A new action (open), and an edit of its words.
    finding = session.scalars(select(Finding.id).order_by(Finding.id)).first()
    created = client.post(
        "/api/v1/actions",
        json={"finding_id": finding, "title": "Force leaders", "description": "New"},
    )
    assert created.status_code == 201, created.text
    _check(client, db_connection)
    new_id = created.json()["id"]
    _move(client, new_id, "in_progress")
    edited = client.patch(f"/api/v1/actions/{new_id}", json={"title": "Quiet"})
    assert edited.status_code == 200, edited.text
    _check(client, db_connection)

    # An import, its re-import with a question and a finding changed, one withdrawn.
    kent = _import(KENT)
    _check(client, db_connection)
    kent_ids = session.scalars(select(Action.id).where(Action.report_id == kent)).all()
    _move(client, kent_ids[0], "in_progress")
    edited_kent = KENT.replace("How well is the force led?", "How well are leaders chosen?")
    _import(edited_kent.replace("- The force should vet all new leaders.\n", ""))
    _check(client, db_connection)

    # Bulk SQL, outside the services: statuses and a deletion.
    session.execute(update(Action).where(Action.id.in_(ids[6:9])).values(status="completed"))
    session.execute(delete(Action).where(Action.id == ids[1]))
    session.commit()
    _check(client, db_connection)
    session.execute(delete(Report).where(Report.id == kent))
    session.commit()
    _check(client, db_connection)


def test_a_past_days_count_with_statuses_reads_the_states(
    client: TestClient, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A past day's statuses are the states' (not the search table's, which holds today's)."""
    with clock_at(monkeypatch) as set_now:
        set_now(datetime(2030, 3, 1, 9, tzinfo=UTC))
        _import(seed_text)
        open_then = _count(client, "force", ("open",))
        assert open_then > 0
        set_now(datetime(2030, 3, 5, 9, tzinfo=UTC))
        matching = fetch_all(client, "/api/v1/actions?" + urlencode({"q": "force", "limit": 200}))
        for item in matching[:3]:
            _move(client, item["id"], "in_progress")
        yesterday = (date(2030, 3, 5) - timedelta(days=1)).isoformat()
        assert _count(client, "force", ("open",), as_of=yesterday) == open_then
        assert _count(client, "force", ("open",)) == open_then - 3
        assert _count(client, "force", ("in_progress",), as_of=yesterday) == 0


# --- the plan ------------------------------------------------------------------------------------


@pytest.fixture
def no_plain_scans(db_connection: Connection) -> Iterator[Connection]:
    if db_connection.dialect.name == "postgresql":
        db_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    yield db_connection


def test_a_count_with_statuses_reads_the_search_table_alone(
    no_plain_scans: Connection, seeded: int
) -> None:
    """PostgreSQL: the document and the status are both index conditions of the search
    table's GIN index, and the action table is not read; not on a past day (the states hold its
    statuses). SQLite: the FTS5 matches and an index of the action, no table scanned."""
    connection = no_plain_scans
    filters = ActionFilters(q="force", statuses=("open", "blocked"))
    today = clock.today()
    shape, params = action_filters.filter_values(filters=filters, as_of=today)
    postgresql = connection.dialect.name == "postgresql"
    from_search = action_reads._count_from_search(connection, shape, today)
    assert from_search is postgresql
    assert not action_reads._count_from_search(connection, shape, today - timedelta(days=1))
    statement = action_reads._count_statement(shape, from_search)
    params.update(status_params(filters.statuses))
    plan = _plan(connection, statement, params)
    if postgresql:
        assert "Bitmap Index Scan on ix_action_search_document_status" in plan, plan
        index_cond = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert "@@" in index_cond and "&&" in index_cond, plan
        assert not re.search(r"\bon action\b(?!_)", plan), plan
    else:
        assert "SCAN action_search VIRTUAL TABLE INDEX" in plan, plan
        assert not re.search(r"\bSCAN action\b(?!_)", plan), plan
    assert connection.scalar(statement, params) == action_reads.count_actions(
        db=connection, filters=filters, as_of=today
    )


def _plan(connection: Connection, statement: Any, params: dict[str, Any]) -> str:
    compiled = statement.compile(dialect=connection.dialect)
    state = compiled.construct_expanded_state(compiled.construct_params(params))
    if connection.dialect.name == "sqlite":
        positional = tuple(state.parameters[name] for name in state.positiontup or ())
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement, positional)
        return "\n".join(row[-1] for row in rows)
    rows = connection.exec_driver_sql("EXPLAIN " + state.statement, state.parameters)
    return "\n".join(row[0] for row in rows)
