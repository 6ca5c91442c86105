"""The tallies (migration 0014, app.services.tallies) against a recount from scratch.

A property test applies random imports, re-imports, edits of every counted column, findings
withdrawn and restored, progress moved across the stale cut-off, deletions and folds, then
compares every dimension's tally with a count made here from the actions themselves, and
today's stats (every group_by, by report and stale with the indexes of migration 0015) and
overdue summary (read from the tallies) with the answers counted from the actions
(app.services.stats' own path).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus, Priority, Rag
from app.models import Action, Finding, Owner, Report
from app.principal import system
from app.schemas.stats import StatsGroupBy
from app.services import stats_by_report, stats_tallied, tallies
from app.services.reports import import_text
from tests.query_data import AS_OF, Dataset

_ACTIVE = ("open", "in_progress", "blocked")
_FORCES = ("Kent", "Durham", "Cumbria")
_PILLARS = ("Efficiency", "Legitimacy", None)
_TODAY = date(2030, 1, 15)


def _report_text(force: str, pillar: str | None, findings: list[int]) -> str:
    lines = [f"{force} PEEL 2019/20"]
    if pillar:
        lines.append(pillar)
    lines += ["How well does the force do its work?", "It does well.", "Areas for improvement"]
    lines += [f"- The force should improve practice number {n} of its work." for n in findings]
    return "\n".join(lines) + "\n"


def _recount(connection: Connection, dim: str) -> dict[Any, tallies.Group]:
    """Per key of `dim`, the figures the tally should hold, counted from every action."""
    rows = connection.execute(
        select(
            Action.status,
            Action.owner_id,
            Action.priority,
            Action.rag,
            Action.report_id,
            Action.due_date,
            Action.original_due_date,
            Action.closed_at,
            Report.force,
            Report.pillar,
            Finding.withdrawn_at,
        )
        .join(Report, Report.id == Action.report_id)
        .join(Finding, Finding.id == Action.finding_id)
    ).all()
    counts: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ActionStatus, 0))
    dated: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_ACTIVE, 0))
    on_time: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        key = {
            "status": row.status,
            "owner": row.owner_id,
            "priority": row.priority,
            "rag": row.rag,
            "report": row.report_id,
            "force": row.force,
            "pillar": row.pillar,
        }[dim]
        counts[key][row.status] += 1
        if row.status in _ACTIVE and row.due_date is not None and row.withdrawn_at is None:
            dated[key][row.status] += 1
        if row.status == "completed" and row.closed_at is not None:
            closed = row.closed_at.astimezone(UTC).date()
            for index, due in enumerate((row.original_due_date, row.due_date)):
                if due is not None and closed <= due:
                    on_time[key][index] += 1
    dated_of = {key: dict(dated[key]) for key in counts}
    return {
        key: tallies.Group(
            {str(status): n for status, n in per_status.items()},
            dated_of[key],
            *on_time[key],
        )
        for key, per_status in counts.items()
    }


def _stats_both_ways(client: TestClient, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    with monkeypatch.context() as patched:
        calls: list[str] = []
        read = tallies.read
        patched.setattr(tallies, "read", lambda db, dim: calls.append(dim) or read(db, dim))
        # By report, today's tallies are read with the report's title and oldest overdue action.
        by_report = stats_by_report.read
        patched.setattr(
            stats_by_report, "read", lambda **kw: calls.append("report") or by_report(**kw)
        )
        tallied = client.get(url)
    assert calls, f"{url} was not answered from the tallies"
    with monkeypatch.context() as patched:
        patched.setattr(stats_tallied, "answers", lambda **_: False)
        counted = client.get(url)
    assert tallied.status_code == counted.status_code == 200
    # The same bytes (by report, today's answer is written a part at a time: as the whole).
    assert tallied.content == counted.content, url


_QUERIES = [
    "",
    "&status=open&status=completed",
    "&status=open&status=in_progress&status=blocked",
    "&status=in_progress&status=blocked",
    "&status=blocked",
    "&status=withdrawn",
]


@pytest.mark.parametrize("group_by", list(StatsGroupBy))
@pytest.mark.parametrize("query", _QUERIES)
def test_todays_stats_from_the_tallies_are_the_counted_ones(
    client: TestClient,
    dataset: Dataset,
    monkeypatch: pytest.MonkeyPatch,
    group_by: StatsGroupBy,
    query: str,
) -> None:
    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    # By report, a body of a few groups per chunk: the chunks' joins are in the comparison.
    monkeypatch.setattr(stats_by_report, "GROUPS_PER_CHUNK", 2)
    _stats_both_ways(client, monkeypatch, f"/api/v1/stats?group_by={group_by}{query}")


@pytest.mark.parametrize("query", ["", "?due_within=7", "?status=blocked&due_within=30"])
def test_todays_overdue_summary_from_the_tallies_is_the_counted_one(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    _stats_both_ways(client, monkeypatch, f"/api/v1/actions/overdue-summary{query}")


def test_other_days_and_filters_count_the_actions(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    calls: list[str] = []
    read = tallies.read
    monkeypatch.setattr(tallies, "read", lambda db, dim: calls.append(dim) or read(db, dim))
    # A past day's stats without filters start from the tallies too (tests/test_past_delta.py).
    for url in (
        f"/api/v1/stats?as_of={AS_OF - timedelta(days=1)}&group_by=report",
        "/api/v1/stats?group_by=owner&force=Kent",
        "/api/v1/actions/overdue-summary?priority=high",
    ):
        assert client.get(url).status_code == 200
    assert calls == []


_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("import"),
            st.sampled_from(_FORCES),
            st.sampled_from(_PILLARS),
            st.lists(st.integers(1, 8), min_size=1, max_size=6, unique=True),
        ),
        st.tuples(
            st.just("edit"),
            st.integers(0, 10_000),
            st.sampled_from(
                [
                    *("status", "owner_id", "priority", "rag", "due_date"),
                    *("closed", "original", "progress"),
                ]
            ),
            st.integers(0, 10_000),
        ),
        st.tuples(st.just("bulk"), st.sampled_from(list(ActionStatus)), st.integers(-20, 20)),
        st.tuples(st.just("withdraw"), st.integers(0, 10_000), st.booleans()),
        st.tuples(st.just("delete action"), st.integers(0, 10_000)),
        st.tuples(st.just("delete report"), st.integers(0, 10_000)),
        st.tuples(st.just("fold")),
    ),
    min_size=1,
    max_size=14,
)


def _moment(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def _pick(session: Session, model: Any, index: int) -> Any:
    ids = session.scalars(select(model.id).order_by(model.id)).all()
    return ids[index % len(ids)] if ids else None


def _apply(session: Session, operation: tuple[Any, ...], owners: list[int]) -> None:
    kind = operation[0]
    if kind == "import":
        _, force, pillar, findings = operation
        import_text(
            session=session,
            raw=_report_text(force, pillar, findings),
            metadata={},
            actor=system("tests"),
        )
    elif kind == "edit":
        _, index, field, value = operation
        action_id = _pick(session, Action, index)
        if action_id is None:
            return
        action = session.get_one(Action, action_id)
        day = _TODAY + timedelta(days=value % 41 - 20)
        if field == "status":
            action.status = list(ActionStatus)[value % 7]
        elif field == "owner_id":
            action.owner_id = [None, *owners][value % (len(owners) + 1)]
        elif field == "priority":
            action.priority = list(Priority)[value % 4]
        elif field == "rag":
            action.rag = [None, *Rag][value % 4]
        elif field == "due_date":
            action.due_date = None if value % 5 == 0 else day
        elif field == "closed":
            action.closed_at = _moment(day) + timedelta(hours=value % 30)
        elif field == "progress":  # around the stale rule's cut-off (90 days before today)
            action.last_progress_at = None if value % 6 == 0 else _moment(day - timedelta(days=80))
        else:
            action.original_due_date = None if value % 4 == 0 else day
    elif kind == "bulk":  # one Core UPDATE over many rows, as a script might
        _, status, shift = operation
        session.execute(
            update(Action)
            .where(Action.id % 3 == abs(shift) % 3)
            .values(status=status, due_date=_TODAY + timedelta(days=shift))
        )
    elif kind == "withdraw":
        _, index, withdrawn = operation
        finding_id = _pick(session, Finding, index)
        if finding_id is not None:
            session.get_one(Finding, finding_id).withdrawn_at = (
                clock.utcnow() if withdrawn else None
            )
    elif kind == "delete action":
        action_id = _pick(session, Action, operation[1])
        if action_id is not None:
            session.execute(delete(Action).where(Action.id == action_id))
    elif kind == "delete report":  # the findings and actions go by cascade
        report_id = _pick(session, Report, operation[1])
        if report_id is not None:
            session.execute(delete(Report).where(Report.id == report_id))
    else:
        tallies.compact(session.connection())
    session.flush()
    session.expire_all()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=_operations)
def test_tallies_match_a_recount_after_any_writes(
    session: Session,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    operations: list[tuple[Any, ...]],
) -> None:
    monkeypatch.setattr(clock, "today", lambda: _TODAY)
    savepoint = session.begin_nested()
    try:
        now = clock.utcnow()
        owners = [Owner(name=name, created_at=now, updated_at=now) for name in ("Ann", "Bo", "Cy")]
        session.add_all(owners)
        session.flush()
        owner_ids = [owner.id for owner in owners]
        for operation in operations:
            _apply(session, operation, owner_ids)
        connection = session.connection()
        for dim in tallies.DIMENSIONS:
            expected = {
                key: group
                for key, group in _recount(connection, dim).items()
                if any(group.counts.values())
            }
            assert tallies.read(connection, dim) == expected, dim
        for group_by in StatsGroupBy:
            for query in ("", "&status=in_progress&status=completed"):
                _stats_both_ways(client, monkeypatch, f"/api/v1/stats?group_by={group_by}{query}")
        _stats_both_ways(client, monkeypatch, "/api/v1/actions/overdue-summary?due_within=10")
    finally:
        savepoint.rollback()
