"""No loose coercion: ids, dates and flags mean what they say, or the request is a 422.

Pydantic's lax mode reads `true` as the id 1, the number 0 as 1970-01-01 (seconds since the
epoch) and `yes` as true; a client that sends such values has a bug, and storing a guess would
hide it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import assert_problem, first_action


@pytest.mark.parametrize(
    "change",
    [
        {"owner_id": True},
        {"owner_id": "1"},
        {"owner_id": 1.0},
        {"due_date": 0},
        {"due_date": 86400},
        {"due_date": "86400"},
        {"due_date": "2027-01-01T00:00:00"},
        {"due_date": "20270101"},
        {"due_date": "1 Jan 2027"},
    ],
)
def test_loose_values_in_a_body_are_refused(
    client: TestClient, seeded: int, change: dict[str, Any]
) -> None:
    action = first_action(client)
    url = f"/api/v1/actions/{action['id']}"
    body = assert_problem(client.patch(url, json=change), 422)
    assert [error["field"] for error in body["errors"]] == list(change)
    after = client.get(url).json()
    assert (after["owner_id"], after["due_date"], after["version"]) == (
        action["owner_id"],
        action["due_date"],
        action["version"],
    )


def test_exact_values_in_a_body_are_taken(client: TestClient, seeded: int) -> None:
    owner = client.post("/api/v1/owners", json={"name": "Strict owner"}).json()
    url = f"/api/v1/actions/{first_action(client)['id']}"
    response = client.patch(url, json={"owner_id": owner["id"], "due_date": "2027-01-31"})
    assert response.status_code == 200, response.text
    assert (response.json()["owner_id"], response.json()["due_date"]) == (owner["id"], "2027-01-31")


@pytest.mark.parametrize(
    "query",
    [
        "due_before=0",
        "due_after=1700000000",
        "as_of=86400",
        "as_of=2027-01-01T00:00:00",
        "owner_id=1.0",
        "owner_id=+1",
        "report_id=1e3",
        "overdue=yes",
        "unassigned=1",
        "count=on",
        "limit=5.0",
    ],
)
def test_loose_values_in_a_query_are_refused(client: TestClient, seeded: int, query: str) -> None:
    body = assert_problem(client.get(f"/api/v1/actions?{query}"), 422)
    assert body["errors"][0]["field"] == query.split("=")[0]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/api/v1/stats?overdue=1", "overdue"),
        ("GET", "/api/v1/actions/overdue-summary?due_within=7.5", "due_within"),
        ("GET", "/api/v1/actions/{id}/evidence?include_deleted=yes", "include_deleted"),
        ("POST", "/api/v1/reports?dry_run=1", "dry_run"),
    ],
)
def test_other_query_flags_and_numbers_are_strict(
    client: TestClient, seeded: int, method: str, path: str, field: str
) -> None:
    url = path.format(id=first_action(client)["id"])
    text = "Kent PEEL 2017\nIs it good?\nAreas for improvement\n- The force should act.\n"
    response = client.request(method, url, content=text, headers={"Content-Type": "text/plain"})
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == field
    assert len(client.get("/api/v1/reports").json()["items"]) == 1


def test_exact_values_in_a_query_are_taken(client: TestClient, seeded: int) -> None:
    query = (
        "overdue=false&unassigned=false&count=true&limit=5&as_of=2027-01-01&due_before=2030-01-01"
    )
    response = client.get(f"/api/v1/actions?{query}")
    assert response.status_code == 200, response.text
    assert response.json()["total"] is not None
