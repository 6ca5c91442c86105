"""Lock contention is retried inside the service (app.contention), a bounded number of times,
before it is answered 409 (or 412 for a request with If-Match). Concurrent bulk updates against
a real server are in test_concurrency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app import clock, contention
from app.errors import Conflict
from app.models import Owner
from app.services import actions
from tests.helpers import assert_problem, first_action


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _db_error(sqlstate: str) -> OperationalError:
    return OperationalError("UPDATE action ...", {}, _DriverError(sqlstate))


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses between attempts, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(contention, "pause", recorded.append)
    return recorded


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (StaleDataError("version changed"), True),
        (_db_error("40P01"), True),  # deadlock_detected
        (_db_error("40001"), True),  # serialization_failure
        (_db_error("55P03"), False),  # lock_not_available: the configured wait ran out
        (_db_error("57014"), False),  # query_canceled (statement timeout)
        (Conflict("Action X is completed"), False),
    ],
)
def test_only_lock_contention_counts_as_contention(error: Exception, retried: bool) -> None:
    assert contention.is_contention(error) is retried


def _owner(name: str) -> Owner:
    now = clock.utcnow()
    return Owner(name=name, created_at=now, updated_at=now)


def test_the_whole_unit_of_work_runs_again_from_a_rolled_back_session(
    session: Session, pauses: list[float]
) -> None:
    calls = 0

    def unit() -> int:
        nonlocal calls
        calls += 1
        session.add(_owner("Retried"))
        session.flush()
        if calls < 3:
            raise StaleDataError("changed by another request")
        return calls

    assert contention.retrying(session=session, work=unit) == 3
    # The writes of the failed attempts were rolled back with them.
    assert len(session.scalars(select(Owner).where(Owner.name == "Retried")).all()) == 1
    assert len(pauses) == 2
    assert 0 <= pauses[0] <= contention.FIRST_PAUSE_S
    assert 0 <= pauses[1] <= 2 * contention.FIRST_PAUSE_S


def test_other_errors_are_not_retried(session: Session, pauses: list[float]) -> None:
    calls = 0

    def unit() -> None:
        nonlocal calls
        calls += 1
        raise Conflict("a real conflict")

    with pytest.raises(Conflict):
        contention.retrying(session=session, work=unit)
    assert (calls, pauses) == (1, [])


def _contended(
    monkeypatch: pytest.MonkeyPatch, times: int | None
) -> Callable[[], int]:  # how many times update_action was called
    """update_action does its work, then meets contention `times` times (None: always)."""
    real = actions.update_action
    calls = 0

    def update_action(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = real(**kwargs)
        kwargs["session"].flush()
        if times is None or calls <= times:
            raise StaleDataError("UPDATE statement on table 'action' expected to update 1 row")
        return result

    monkeypatch.setattr(actions, "update_action", update_action)
    return lambda: calls


def test_a_bulk_update_that_meets_contention_once_lands_once(
    client: TestClient, seeded: int, monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    action = first_action(client)
    calls = _contended(monkeypatch, times=1)
    body = {"action_ids": [action["id"]], "set": {"due_date": "2031-02-03"}}
    response = client.post("/api/v1/actions/bulk", json=body)
    assert response.status_code == 200, response.text
    assert calls() == 2 and len(pauses) == 1
    # The first attempt's write and event were rolled back: one version, one event.
    now = client.get(f"/api/v1/actions/{action['id']}").json()
    assert (now["version"], now["due_date"]) == (action["version"] + 1, "2031-02-03")
    history = client.get(f"/api/v1/actions/{action['id']}/history").json()["items"]
    assert [e["kind"] for e in history].count("updated") == 1


def test_contention_that_persists_is_a_conflict_after_a_bounded_number_of_attempts(
    client: TestClient, seeded: int, monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    action = first_action(client)
    calls = _contended(monkeypatch, times=None)
    body = {"action_ids": [action["id"]], "set": {"due_date": "2031-02-03"}}
    assert_problem(client.post("/api/v1/actions/bulk", json=body), 409)
    assert calls() == contention.ATTEMPTS and len(pauses) == contention.ATTEMPTS - 1
    # With If-Match the client asked for the check: 412, as before.
    url = f"/api/v1/actions/{action['id']}"
    etag = client.get(url).headers["etag"]
    assert_problem(client.patch(url, json={"title": "x"}, headers={"If-Match": etag}), 412)
    assert client.get(url).json()["version"] == action["version"]


def test_a_stale_if_match_is_refused_at_once_not_retried(
    client: TestClient, seeded: int, pauses: list[float]
) -> None:
    action = first_action(client)
    url = f"/api/v1/actions/{action['id']}"
    etag = client.get(url).headers["etag"]
    assert client.patch(url, json={"title": "First"}).status_code == 200
    assert_problem(client.patch(url, json={"title": "Second"}, headers={"If-Match": etag}), 412)
    assert pauses == []
