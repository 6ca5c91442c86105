"""What the service sends, against what the OpenAPI document says (issue 17): the operations
made for generated clients (the CSV export, the file uploads), the old ways that still work,
and every header a response carries declared for its operation and status."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import add_note, assert_problem, first_action

DOCUMENT = create_app().openapi()
# Headers a client reads: each one sent must be in the document.
READ_BY_CLIENTS = ("etag", "link", "location", "retry-after", "content-disposition")
REPORT = "Essex PEEL 2019\nIs it good?\nAreas for improvement\n- The force should act.\n"


def _operation(method: str, path: str) -> dict[str, Any]:
    """The documented operation a concrete path belongs to."""
    for template, operations in DOCUMENT["paths"].items():
        pattern = "^" + re.sub(r"\\{\w+\\}", "[0-9]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not documented")


def _assert_declared(response: Any) -> None:
    request = response.request
    operation = _operation(request.method, request.url.path)
    documented = operation["responses"][str(response.status_code)]
    declared = {name.lower() for name in documented.get("headers", {})}
    sent = {name for name in READ_BY_CLIENTS if name in response.headers}
    assert sent <= declared, (request.method, request.url.path, response.status_code)
    media_type = response.headers.get("content-type", "").split(";")[0]
    if media_type:
        content = documented.get("content", {})
        assert media_type in content or "*/*" in content, (request.url.path, media_type)


def test_every_header_a_client_reads_is_declared(
    client: TestClient, seeded: int, data_dir: Any
) -> None:
    action = first_action(client)
    url = f"/api/v1/actions/{action['id']}"
    responses = [
        client.get("/api/v1/actions?limit=1"),
        client.get("/api/v1/actions.csv"),
        client.get(url),
        client.patch(url, json={"priority": "high"}),
        client.patch(url, json={"priority": "low"}, headers={"If-Match": '"0-0"'}),
        client.post(f"{url}/transitions", json={"to": "completed"}),
        client.post(f"{url}/transitions", json={"to": "in_progress"}),
        client.get(f"{url}/history?limit=1"),
        client.post(f"{url}/evidence", json={"kind": "note", "text": "Done"}),
        client.post(f"{url}/evidence/files", files={"file": ("a.txt", b"minutes", "text/plain")}),
        client.post("/api/v1/reports", content=REPORT, headers={"Content-Type": "text/plain"}),
        client.post("/api/v1/reports/files?dry_run=true", files={"file": ("r.txt", REPORT)}),
        client.post("/api/v1/owners", json={"name": "Ann"}),
        client.get("/api/v1/calendar.ics"),
        client.get("/api/v1/stats"),
    ]
    evidence = responses[9].json()
    responses.append(client.get(f"/api/v1/evidence/{evidence['id']}/content"))
    for response in responses:
        assert response.status_code < 500, response.text
        _assert_declared(response)
    assert {r.status_code for r in responses} >= {200, 201, 409, 412}


def test_the_csv_export_and_the_old_ways_to_ask_for_csv(client: TestClient, seeded: int) -> None:
    export = client.get("/api/v1/actions.csv?sort=-id&priority=medium")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"] == 'attachment; filename="actions.csv"'
    old = client.get("/api/v1/actions?sort=-id&priority=medium&format=csv&limit=1")
    accepted = client.get(
        "/api/v1/actions?sort=-id&priority=medium", headers={"Accept": "text/csv"}
    )
    assert export.text == old.text == accepted.text
    assert len(export.text.splitlines()) > 2
    body = assert_problem(client.get("/api/v1/actions.csv?sort=relevance"), 422)
    assert [error["field"] for error in body["errors"]] == ["sort"]


def test_a_file_has_an_operation_of_its_own_and_multipart_still_works_on_the_old_one(
    client: TestClient, seeded: int, data_dir: Any
) -> None:
    url = f"/api/v1/actions/{first_action(client)['id']}/evidence"
    new = client.post(f"{url}/files", files={"file": ("a.txt", b"one", "text/plain")})
    old = client.post(url, files={"file": ("b.txt", b"two", "text/plain")})
    for response in (new, old):
        assert response.status_code == 201, response.text
        assert response.json()["kind"] == "file"
        assert response.headers["location"] == f"/api/v1/evidence/{response.json()['id']}"
    assert_problem(client.post(f"{url}/files", json={"kind": "note", "text": "x"}), 415)
    assert_problem(client.post(url, content=b"x", headers={"Content-Type": "text/plain"}), 415)


@pytest.mark.parametrize("kind", ["note", "link", "file"])
def test_each_kind_of_evidence_answers_every_field_of_its_shape(
    client: TestClient, seeded: int, data_dir: Any, kind: str
) -> None:
    action_id = first_action(client)["id"]
    if kind == "note":
        body = add_note(client, action_id)
    elif kind == "link":
        body = client.post(
            f"/api/v1/actions/{action_id}/evidence",
            json={"kind": "link", "url": "https://example.org/x"},
        ).json()
    else:
        body = client.post(
            f"/api/v1/actions/{action_id}/evidence/files", files={"file": ("a.txt", b"a")}
        ).json()
    schema = DOCUMENT["components"]["schemas"][f"{kind.title()}Evidence"]
    assert body.keys() == set(schema["properties"]) == set(schema["required"])
    for name, prop in schema["properties"].items():
        if prop.get("type") == "null":
            assert body[name] is None, name
        elif "anyOf" not in prop:
            assert body[name] is not None, name


def test_a_report_file_has_an_operation_of_its_own_and_answers_as_documented(
    client: TestClient,
) -> None:
    dry = client.post("/api/v1/reports/files?dry_run=true", files={"file": ("r.txt", REPORT)})
    assert dry.status_code == 200 and "created" not in dry.json()
    assert dry.json()["force"] == "Essex"
    stored = client.post("/api/v1/reports/files", files={"file": ("r.txt", REPORT)})
    assert stored.status_code == 201
    assert stored.headers["location"] == f"/api/v1/reports/{stored.json()['report']['id']}"
    again = client.post("/api/v1/reports", content=REPORT, headers={"Content-Type": "text/plain"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert "location" not in again.headers
    # The old way: a file sent to /reports.
    old = client.post("/api/v1/reports?dry_run=true", files={"file": ("r.txt", REPORT)})
    assert old.status_code == 200 and old.json() == dry.json()
    assert_problem(
        client.post(
            "/api/v1/reports/files", content=REPORT, headers={"Content-Type": "text/plain"}
        ),
        415,
    )


def test_a_file_is_always_sent_whole_as_documented(
    client: TestClient, seeded: int, data_dir: Any
) -> None:
    url = f"/api/v1/actions/{first_action(client)['id']}/evidence/files"
    evidence = client.post(url, files={"file": ("a.txt", b"0123456789")}).json()
    for asked in ("bytes=0-3", "bytes=50-60"):
        response = client.get(
            f"/api/v1/evidence/{evidence['id']}/content", headers={"Range": asked}
        )
        assert response.status_code == 200 and response.content == b"0123456789"
        assert "accept-ranges" not in response.headers
