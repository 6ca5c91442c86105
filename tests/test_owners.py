from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import assert_problem


def test_owner_crud(client: TestClient) -> None:
    created = client.post(
        "/api/v1/owners", json={"name": " Jane Doe ", "email": "jane@example.org", "team": "PVP"}
    )
    assert created.status_code == 201, created.text
    owner = created.json()
    assert owner["name"] == "Jane Doe"
    assert created.headers["location"].endswith(f"/api/v1/owners/{owner['id']}")

    assert client.get(f"/api/v1/owners/{owner['id']}").json()["email"] == "jane@example.org"
    patched = client.patch(f"/api/v1/owners/{owner['id']}", json={"team": "Crime"})
    assert patched.json()["team"] == "Crime" and patched.json()["name"] == "Jane Doe"
    assert [o["id"] for o in client.get("/api/v1/owners").json()["items"]] == [owner["id"]]
    assert client.get("/api/v1/owners?team=Crime").json()["items"]
    assert client.get("/api/v1/owners?team=PVP").json()["items"] == []

    assert client.delete(f"/api/v1/owners/{owner['id']}").status_code == 204
    assert client.get(f"/api/v1/owners/{owner['id']}").status_code == 404


def _fields(response: Any) -> set[str]:
    # Request validation and the service's own checks both list their fields in `errors`.
    body = assert_problem(response, 422)
    return {error["field"] for error in body["errors"]}


def test_owner_validation(client: TestClient) -> None:
    assert "name" in _fields(client.post("/api/v1/owners", json={"name": ""}))
    assert "email" in _fields(client.post("/api/v1/owners", json={"name": "x", "email": "nope"}))
    assert "role" in _fields(client.post("/api/v1/owners", json={"name": "x", "role": "boss"}))
    owner = client.post("/api/v1/owners", json={"name": "x"}).json()
    response = client.patch(f"/api/v1/owners/{owner['id']}", json={"name": None})
    assert "name" in _fields(response)
    assert_problem(client.patch("/api/v1/owners/999", json={"team": "y"}), 404)


def test_deleting_an_owner_who_owns_actions_is_refused(client: TestClient, seeded: int) -> None:
    owner = client.post("/api/v1/owners", json={"name": "Busy"}).json()
    action = client.get("/api/v1/actions?limit=1").json()["items"][0]
    assert client.patch(
        f"/api/v1/actions/{action['id']}", json={"owner_id": owner["id"]}
    ).is_success
    refused = client.delete(f"/api/v1/owners/{owner['id']}")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/v1/owners/{owner['id']}").status_code == 200
