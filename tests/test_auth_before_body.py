"""Writes answer 401 or 403 before their body is read: a caller without the right token
cannot make the server parse a body (up to the size limit) only to be refused after."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.helpers import assert_problem, first_action

MALFORMED = b'{"title": "unfinished'


def _writes(client: TestClient) -> list[tuple[str, str]]:
    action_id = first_action(client)["id"]
    return [
        ("POST", "/api/v1/owners"),
        ("PATCH", f"/api/v1/actions/{action_id}"),
        ("POST", f"/api/v1/actions/{action_id}/transitions"),
        ("POST", "/api/v1/actions/bulk"),
        ("POST", "/api/v1/tokens"),
    ]


def test_anonymous_writes_are_401_whatever_the_body(
    client: TestClient, anonymous: TestClient, seeded: int
) -> None:
    for method, url in _writes(client):
        response = anonymous.request(
            method, url, content=MALFORMED, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_without_the_role_is_403_whatever_the_body(
    client: TestClient, client_as: Callable[..., TestClient], seeded: int
) -> None:
    viewer = client_as("viewer")
    for method, url in _writes(client):
        response = viewer.request(
            method, url, content=MALFORMED, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 403)


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_with_the_role_a_malformed_body_is_still_400(
    client_as: Callable[..., TestClient], seeded: int, role: str
) -> None:
    caller = client_as(role)
    response = caller.post(
        "/api/v1/owners", content=MALFORMED, headers={"Content-Type": "application/json"}
    )
    assert assert_problem(response, 400)["title"] == "Malformed JSON"
    created = caller.post("/api/v1/owners", json={"name": f"Made by {role}"})
    assert created.status_code == 201
