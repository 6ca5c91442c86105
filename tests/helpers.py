"""Small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status"} <= body.keys()
    assert "Traceback" not in response.text
    return body


def first_action(client: TestClient) -> dict[str, Any]:
    action: dict[str, Any] = client.get("/api/v1/actions?limit=1").json()["items"][0]
    return action


def add_note(
    client: TestClient, action_id: int, text: str = "Minutes of the review"
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/actions/{action_id}/evidence", json={"kind": "note", "text": text}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def move(
    client: TestClient, action_id: int, to: str, comment: str | None = "why", **extra: Any
) -> Any:
    return client.post(
        f"/api/v1/actions/{action_id}/transitions", json={"to": to, "comment": comment, **extra}
    )


def as_actor(name: str, role: str = "admin") -> dict[str, str]:
    """Headers that authenticate as a new token called `name` (what history shows as actor)."""
    from tests.conftest import make_token

    return {"Authorization": f"Bearer {make_token(role, name=name)}"}
