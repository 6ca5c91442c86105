from __future__ import annotations

from fastapi.testclient import TestClient


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


def test_owner_validation(client: TestClient) -> None:
    assert client.post("/api/v1/owners", json={"name": ""}).status_code == 422
    assert client.post("/api/v1/owners", json={"name": "x", "email": "nope"}).status_code == 422
    assert client.post("/api/v1/owners", json={"name": "x", "role": "boss"}).status_code == 422
    owner = client.post("/api/v1/owners", json={"name": "x"}).json()
    response = client.patch(f"/api/v1/owners/{owner['id']}", json={"name": None})
    assert response.status_code == 422
    assert client.patch("/api/v1/owners/999", json={"team": "y"}).status_code == 404


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
