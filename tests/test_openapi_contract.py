"""The OpenAPI document against what the routes can answer (issue 13, item 10).

Expectations are derived here from what each route is (its path, methods, parameters, body
and who may call it), independently of app.api.openapi, which derives the document's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.enums import ActionStatus
from app.errors import AppError
from app.main import create_app
from app.schemas.problems import PROBLEM_SCHEMAS
from app.services.workflow import ALLOWED
from tests.helpers import assert_problem, first_action

DOCUMENT = create_app().openapi()
OPERATIONS = [
    (path, method, operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
]
IDS = [f"{method.upper()} {path}" for path, method, _ in OPERATIONS]
PROBLEM_REFS = {f"#/components/schemas/{model.__name__}" for model in PROBLEM_SCHEMAS}
WRITES = {"post", "patch", "put", "delete"}
# Errors the services raise beyond what the kind of route implies.
RAISED_BY_SERVICE = {
    ("post", "/api/v1/actions/bulk"): {404},
    ("post", "/api/v1/actions/{action_id}/transitions"): {403, 404, 409},
    ("delete", "/api/v1/evidence/{evidence_id}"): {409},
    ("delete", "/api/v1/owners/{owner_id}"): {409},
    ("post", "/api/v1/tokens"): {409},
    ("get", "/api/v1/calendar.ics"): {401, 403},
    ("post", "/api/v1/reports"): {413, 415, 422},
    ("post", "/api/v1/actions/{action_id}/evidence"): {413, 415, 422},
}


def _expected(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {500, 503}
    parameters = operation.get("parameters", [])
    body = "requestBody" in operation
    if path.startswith("/api/v1/"):
        statuses |= {401, 429}  # every API route wants a token (unless reads are public)
        if method in WRITES or path.startswith("/api/v1/tokens"):
            statuses.add(403)  # writes need editor or admin; tokens are the admin's
    if re.search(r"\{\w+_id\}", path):
        statuses.add(404)
    if parameters or body:
        statuses.add(422)
    if body:
        statuses |= {400, 413, 415}
    if method in WRITES:
        statuses.add(409)
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
        statuses.add(412)
    return statuses | RAISED_BY_SERVICE.get((method, path), set())


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_status_the_route_can_send_is_documented(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    documented = {int(code) for code in operation["responses"]}
    assert _expected(path, method, operation) <= documented


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_error_is_a_problem(path: str, method: str, operation: dict[str, Any]) -> None:
    for code, response in operation["responses"].items():
        if int(code) < 400:
            continue
        assert list(response["content"]) == ["application/problem+json"], code
        schema = response["content"]["application/problem+json"]["schema"]
        assert schema["$ref"] in PROBLEM_REFS, code
        assert response["description"], code


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_has_a_summary_and_a_description(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    assert operation.get("summary")
    assert operation.get("description")


def test_no_fastapi_validation_error_schema_is_left() -> None:
    text = json.dumps(DOCUMENT)
    assert "HTTPValidationError" not in text
    assert not {"HTTPValidationError", "ValidationError"} & DOCUMENT["components"]["schemas"].keys()


def test_every_error_class_names_a_problem_schema_of_the_document() -> None:
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        assert cls.problem_schema in DOCUMENT["components"]["schemas"], cls
        assert cls.meaning, cls
    problem = DOCUMENT["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert problem["additionalProperties"] is True  # extension members
    conflict = DOCUMENT["components"]["schemas"]["ConflictProblem"]["properties"]
    assert {"current_status", "allowed"} <= conflict.keys()
    precondition = DOCUMENT["components"]["schemas"]["PreconditionFailedProblem"]["properties"]
    assert "current_etag" in precondition
    assert "errors" in DOCUMENT["components"]["schemas"]["ValidationProblem"]["properties"]


def test_the_transitions_operation_shows_the_workflow_of_the_code() -> None:
    operation = DOCUMENT["paths"]["/api/v1/actions/{action_id}/transitions"]["post"]
    rows = {
        match[1]: set(re.findall(r"`(\w+)`", match[2]))
        for match in re.finditer(r"^\| `(\w+)` \| (.*) \|$", operation["description"], re.M)
    }
    assert rows == {str(current): {str(to) for to in steps} for current, steps in ALLOWED.items()}
    to = DOCUMENT["components"]["schemas"]["TransitionIn"]["properties"]["to"]
    assert set(to["enum"]) == {str(step) for steps in ALLOWED.values() for step in steps}
    assert set(to["enum"]) <= {str(status) for status in ActionStatus}


def test_headers_are_declared_where_sent() -> None:
    paths = DOCUMENT["paths"]
    for path, method in [
        ("/api/v1/actions", "post"),
        ("/api/v1/owners", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/reports", "post"),
        ("/api/v1/actions/{action_id}/evidence", "post"),
    ]:
        assert "Location" in paths[path][method]["responses"]["201"]["headers"], path
    for path, method in [
        ("/api/v1/actions/{action_id}", "get"),
        ("/api/v1/actions/{action_id}", "patch"),
        ("/api/v1/actions/{action_id}/transitions", "post"),
    ]:
        assert "ETag" in paths[path][method]["responses"]["200"]["headers"], path
    for path in ["/api/v1/actions", "/api/v1/actions/{action_id}/history"]:
        assert "Link" in paths[path]["get"]["responses"]["200"]["headers"], path
    for path, method, operation in OPERATIONS:
        for code in ("429", "503"):
            if code in operation["responses"]:
                assert "Retry-After" in operation["responses"][code]["headers"], (path, method)
        if "401" in operation["responses"]:
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], path


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = DOCUMENT["components"]["schemas"][name]
    return schema


def test_the_limits_the_service_enforces_are_in_the_schemas() -> None:
    update = _schema("ActionUpdate")["properties"]
    # Not nullable: null is refused.
    for name in ("title", "description", "priority"):
        assert "anyOf" not in update[name] and update[name].get("type") != "null", name
    assert update["title"]["maxLength"] == 300 and update["title"]["minLength"] == 1
    assert re.fullmatch(update["title"]["pattern"], "A title")
    assert not re.fullmatch(update["title"]["pattern"], "A\x00title")
    assert re.fullmatch(update["description"]["pattern"], "two\nlines")
    due = update["due_date"]["anyOf"][0]
    assert (due["x-minimum"], due["x-maximum"]) == ("1900-01-01", "9000-12-31")
    assert re.fullmatch(due["pattern"], "2030-01-31") and re.fullmatch(due["pattern"], "9000-12-31")
    assert not re.fullmatch(due["pattern"], "1899-12-31")
    assert not re.fullmatch(due["pattern"], "9001-01-01")
    owner_id = update["owner_id"]["anyOf"][0]
    assert (owner_id["minimum"], owner_id["maximum"]) == (1, 2**31 - 1)
    assert "anyOf" not in _schema("OwnerUpdate")["properties"]["name"]
    evidence = DOCUMENT["paths"]["/api/v1/actions/{action_id}/evidence"]["post"]["requestBody"]
    kinds = evidence["content"]["application/json"]["schema"]["oneOf"]
    link = next(kind for kind in kinds if "url" in kind["properties"])
    assert link["properties"]["url"]["maxLength"] == 2048
    path_id = DOCUMENT["paths"]["/api/v1/owners/{owner_id}"]["get"]["parameters"][0]["schema"]
    assert (path_id["minimum"], path_id["maximum"]) == (1, 2**31 - 1)
    # No unnamed constraint (Pydantic's `ge`/`le` where JSON Schema has none) anywhere.
    assert not re.search(r'"(ge|le|gt|lt)":', json.dumps(DOCUMENT))


def test_a_json_body_in_another_media_type_is_415(client: TestClient) -> None:
    response = client.post(
        "/api/v1/owners", content=b'{"name": "Ann"}', headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415)


def test_null_where_the_schema_has_no_null_is_422_before_if_match(
    client: TestClient, seeded: int
) -> None:
    action = first_action(client)
    response = client.patch(
        f"/api/v1/actions/{action['id']}", json={"title": None}, headers={"If-Match": '"0-0"'}
    )
    body = assert_problem(response, 422)
    assert [error["field"] for error in body["errors"]] == ["title"]
    owner = client.post("/api/v1/owners", json={"name": "Ann"}).json()
    body = assert_problem(client.patch(f"/api/v1/owners/{owner['id']}", json={"name": None}), 422)
    assert [error["field"] for error in body["errors"]] == ["name"]


def test_a_report_upload_with_an_unknown_part_is_422(client: TestClient, seed_text: str) -> None:
    response = client.post(
        "/api/v1/reports?dry_run=true",
        files={"file": ("r.txt", seed_text.encode())},
        data={"colour": "blue"},
    )
    body = assert_problem(response, 422)
    assert body["field"] == "colour"
