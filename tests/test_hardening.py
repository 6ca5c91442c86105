from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.helpers import assert_problem


@pytest.fixture
def cors_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    from app.settings import get_settings
    from tests.conftest import make_app

    monkeypatch.setattr(get_settings(), "cors_origins", ["https://dashboard.example.org"])
    return make_app()


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/api/v1/actions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, If-Match",
        },
    )


def test_cors_preflight_for_an_allowed_origin(cors_app: Any) -> None:
    response = _preflight(TestClient(cors_app), "https://dashboard.example.org")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://dashboard.example.org"
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "if-match" in response.headers["access-control-allow-headers"].lower()


def test_cors_preflight_for_a_refused_origin(cors_app: Any) -> None:
    response = _preflight(TestClient(cors_app), "https://evil.example.com")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_no_cors_by_default(anonymous: TestClient) -> None:
    response = _preflight(anonymous, "https://dashboard.example.org")
    assert "access-control-allow-origin" not in response.headers


def test_security_headers_on_every_response(client: TestClient, anonymous: TestClient) -> None:
    for response in (
        client.get("/api/v1/reports"),
        anonymous.get("/api/v1/reports"),
        client.get("/api/v1/nowhere"),
        anonymous.get("/health"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "server" not in response.headers
    assert client.get("/api/v1/reports").headers["cache-control"] == "no-store"
    docs_policy = anonymous.get("/docs").headers["content-security-policy"]
    assert "cdn.jsdelivr.net" not in docs_policy and "https:" not in docs_policy


def test_a_crash_never_leaks_a_stack_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import reports

    def explode(**_: Any) -> None:
        raise RuntimeError("secret internals at /srv/app.py line 3")

    monkeypatch.setattr(reports, "list_reports", explode)
    body = assert_problem(client.get("/api/v1/reports"), 500)
    assert "secret internals" not in str(body) and "Traceback" not in str(body)


def test_oversize_json_bodies_get_413(client: TestClient, seeded: int) -> None:
    from app.settings import get_settings

    huge = "x" * (get_settings().max_body_bytes + 10)
    response = client.post("/api/v1/owners", json={"name": huge})
    assert_problem(response, 413)
    assert client.get("/api/v1/owners").json()["items"] == []


def test_ready_answers_503_when_the_database_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from app.services import health

    def unreachable(**_: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(health, "check_database", unreachable)
    response = client.get("/ready")
    body = assert_problem(response, 503)
    assert "database" in body["detail"]
    assert body["type"] == "urn:afi:problem:database-unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert client.get("/health").json() == {"status": "ok"}


def test_a_failed_commit_is_never_reported_as_success(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    real_commit = Session.commit

    def failing_commit(self: Session) -> None:
        if self.info.get("wrote"):
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        real_commit(self)

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = client.post("/api/v1/owners", json={"name": "Lost"})
    assert_problem(response, 503)
    monkeypatch.setattr(Session, "commit", real_commit)
    assert client.get("/api/v1/owners").json()["items"] == []


def test_after_a_crash_the_keep_alive_connection_stays_usable(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real server on loopback: the 500 is a whole problem response, and the client's next
    request works, on the same connection or on a new one the server asked it to open."""
    import http.client
    import socket
    import threading

    import uvicorn

    from app.services import health

    def explode(**_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(health, "check_database", explode)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(client.app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        with httpx.Client(transport=httpx.HTTPTransport(retries=8)) as ready:
            assert ready.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/ready")
        crashed = connection.getresponse()
        body = json.loads(crashed.read())
        assert crashed.status == 500 and body["status"] == 500
        assert crashed.getheader("content-type") == "application/problem+json"
        assert crashed.getheader("connection") == "close"
        connection.request("GET", "/health")
        after = connection.getresponse()
        assert after.status == 200 and json.loads(after.read()) == {"status": "ok"}
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
