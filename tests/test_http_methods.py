"""Methods a path does not take, HEAD and OPTIONS: answered from the route table."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.helpers import assert_problem


def _allow(response: Any) -> list[str]:
    return [method.strip() for method in response.headers["allow"].split(",")]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/owners/1", ["GET", "HEAD", "PATCH", "DELETE", "OPTIONS"]),
        ("/api/v1/owners", ["GET", "HEAD", "POST", "OPTIONS"]),
        ("/api/v1/actions/bulk", ["POST", "OPTIONS"]),
        ("/api/v1/actions/7", ["GET", "HEAD", "PATCH", "OPTIONS"]),
        ("/api/v1/actions/7/evidence", ["GET", "HEAD", "POST", "OPTIONS"]),
        ("/api/v1/actions/overdue-summary", ["GET", "HEAD", "OPTIONS"]),
        ("/health", ["GET", "HEAD", "OPTIONS"]),
    ],
)
def test_options_lists_every_method_of_the_path(
    anonymous: TestClient, path: str, allowed: list[str]
) -> None:
    response = anonymous.options(path)
    assert response.status_code == 204
    assert response.content == b""
    assert _allow(response) == allowed


def test_options_on_an_unknown_path_is_a_404_problem(anonymous: TestClient) -> None:
    assert_problem(anonymous.options("/api/v1/nowhere"), 404)


def test_a_wrong_method_on_a_fixed_path_is_405_not_an_id(client: TestClient) -> None:
    for method in ("PATCH", "GET", "DELETE"):
        response = client.request(method, "/api/v1/actions/bulk", json={})
        body = assert_problem(response, 405)
        assert body["title"] == "Method Not Allowed"
        assert _allow(response) == ["POST", "OPTIONS"]


def test_a_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.put("/api/v1/owners/1", json={})
    assert_problem(response, 405)
    assert _allow(response) == ["GET", "HEAD", "PATCH", "DELETE", "OPTIONS"]
    response = client.delete("/api/v1/reports")
    assert_problem(response, 405)
    assert _allow(response) == ["GET", "HEAD", "POST", "OPTIONS"]


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", str(2**31)])
def test_an_id_that_is_not_a_positive_integer_is_a_422_naming_it(
    client: TestClient, value: str
) -> None:
    for method in ("GET", "PATCH"):
        body = assert_problem(client.request(method, f"/api/v1/actions/{value}", json={}), 422)
        assert [error["field"] for error in body["errors"]] == ["action_id"]
    body = assert_problem(client.get(f"/api/v1/evidence/{value}/content"), 422)
    assert body["errors"][0]["field"] == "evidence_id"


def test_head_answers_like_get_without_a_body(client: TestClient, action_id: int) -> None:
    for path in (
        "/api/v1/actions?limit=2",
        f"/api/v1/actions/{action_id}",
        "/api/v1/actions?format=csv",
        "/api/v1/owners",
        "/api/v1/stats",
        "/api/v1/calendar.ics",
        "/health",
    ):
        got = client.get(path)
        head = client.head(path)
        assert got.status_code == 200, (path, got.text)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers.get("etag") == got.headers.get("etag")
        assert head.headers.get("link") == got.headers.get("link")


def test_head_keeps_errors_and_their_headers(client: TestClient, anonymous: TestClient) -> None:
    missing = client.head("/api/v1/owners/999")
    assert missing.status_code == 404 and missing.content == b""
    assert missing.headers["content-type"].startswith("application/problem+json")
    refused = anonymous.head("/api/v1/owners")
    assert refused.status_code == 401 and "www-authenticate" in refused.headers
    wrong = client.head("/api/v1/actions/bulk")
    assert wrong.status_code == 405 and _allow(wrong) == ["POST", "OPTIONS"]


def test_every_id_in_a_path_is_an_integer_at_routing(app: Any) -> None:
    """So that no fixed path (/actions/bulk, /actions/overdue-summary) is read as an id."""
    paths = [route.path for route in iter_route_contexts(app.routes) if route.methods]
    assert "/api/v1/actions/{action_id:int}" in paths
    for path in paths:
        for parameter in re.findall(r"\{([^}]*)\}", path):
            assert parameter.endswith("_id:int"), path


def test_openapi_documents_ids_as_integers_on_plain_paths(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/api/v1/owners/{owner_id}" in document["paths"]
    assert not any(":" in path for path in document["paths"])
    parameters = document["paths"]["/api/v1/owners/{owner_id}"]["get"]["parameters"]
    owner_id = next(p for p in parameters if p["name"] == "owner_id")
    assert owner_id["in"] == "path" and owner_id["schema"]["type"] == "integer"
    assert not any("head" in operations for operations in document["paths"].values())
