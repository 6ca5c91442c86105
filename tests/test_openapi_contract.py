"""The OpenAPI document against what the routes can answer (issue 13, item 10).

Expectations are derived here from what each route is (its path, methods, parameters, body
and who may call it), independently of app.api.openapi, which derives the document's.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.enums import ActionStatus, EventType
from app.errors import AppError
from app.main import create_app
from app.schemas.filters import ActionSort, HistorySort
from app.schemas.problems import PROBLEM_SCHEMAS
from app.services.workflow import ALLOWED
from tests.helpers import assert_problem, first_action

APP = create_app()
DOCUMENT = APP.openapi()
COMPONENTS: dict[str, Any] = DOCUMENT["components"]["schemas"]
REF = "#/components/schemas/"
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
    ("post", "/api/v1/reports/files"): {413, 415, 422},
    ("post", "/api/v1/actions/{action_id}/evidence"): {413, 415, 422},
    ("post", "/api/v1/actions/{action_id}/evidence/files"): {413, 415, 422},
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
    assert to["$ref"] == "#/components/schemas/ActionStatus"
    statuses = set(DOCUMENT["components"]["schemas"]["ActionStatus"]["enum"])
    assert statuses == {str(status) for status in ActionStatus}
    assert {str(step) for steps in ALLOWED.values() for step in steps} <= statuses


def test_headers_are_declared_where_sent() -> None:
    paths = DOCUMENT["paths"]
    for path, method in [
        ("/api/v1/actions", "post"),
        ("/api/v1/owners", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/reports", "post"),
        ("/api/v1/reports/files", "post"),
        ("/api/v1/actions/{action_id}/evidence", "post"),
        ("/api/v1/actions/{action_id}/evidence/files", "post"),
    ]:
        assert "Location" in paths[path][method]["responses"]["201"]["headers"], path
    for path, method in [
        ("/api/v1/actions/{action_id}", "get"),
        ("/api/v1/actions/{action_id}", "patch"),
        ("/api/v1/actions/{action_id}/transitions", "post"),
    ]:
        assert "ETag" in paths[path][method]["responses"]["200"]["headers"], path
    for path in ["/api/v1/actions", "/api/v1/actions/{action_id}/history", "/api/v1/changes"]:
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


def _name(schema: dict[str, Any]) -> str:
    ref: str = schema["$ref"]
    return ref.removeprefix("#/components/schemas/")


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
    body = evidence["content"]["application/json"]["schema"]
    kinds = [_schema(ref["$ref"].rsplit("/", 1)[-1]) for ref in _schema(_name(body))["oneOf"]]
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


# What a client generator needs (issue 17): rules over every operation, so that routes added
# later are held to them too.


def _camel_case(name: str) -> str:
    head, *tail = name.split("_")
    return head + "".join(word.title() for word in tail)


def test_operation_ids_are_the_route_names_in_camel_case_and_unique() -> None:
    documented = {
        (path, method.upper()): operation["operationId"] for path, method, operation in OPERATIONS
    }
    for route in APP.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                assert documented[(route.path_format, method)] == _camel_case(route.name)
    ids = list(documented.values())
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)*", operation_id), operation_id
    assert documented[("/api/v1/actions", "GET")] == "listActions"


def test_every_tag_used_is_defined_with_a_description() -> None:
    defined = {tag["name"]: tag.get("description") for tag in DOCUMENT["tags"]}
    used = {tag for _, _, operation in OPERATIONS for tag in operation["tags"]}
    # A new kind of route needs its tag in app.api.openapi.TAGS.
    assert used == defined.keys()
    assert all(defined.values())
    assert all(len(operation["tags"]) == 1 for _, _, operation in OPERATIONS)


def test_the_document_names_its_servers_licence_and_contact() -> None:
    info = DOCUMENT["info"]
    assert info["license"]["identifier"] == "MIT"
    assert info["contact"]["name"] and info["description"]
    assert [server["url"] for server in DOCUMENT["servers"]] == ["/"]


def test_operations_that_need_no_token_say_so() -> None:
    for path, method, operation in OPERATIONS:
        wants_token = "401" in operation["responses"]
        assert bool(operation["security"]) == wants_token, (method, path)


def _walk(node: Any, where: tuple[str, ...] = ()) -> Any:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*where, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*where, str(index)))


def test_enums_are_named_components_never_copied() -> None:
    for where, node in _walk(DOCUMENT):
        # (A problem's `status` lists the HTTP statuses it answers with: numbers, not a shape.)
        if isinstance(node, dict) and "enum" in node and node.get("type") != "integer":
            assert where[:2] == ("components", "schemas") and len(where) == 3, where


def _identifier(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier()


def test_enum_members_have_names_where_their_values_are_not_names() -> None:
    named = 0
    for where, node in _walk(DOCUMENT):
        if not (isinstance(node, dict) and isinstance(node.get("enum"), list)):
            continue
        values = node["enum"]
        if all(_identifier(value) for value in values):
            continue
        names = node.get("x-enum-varnames")
        assert names is not None, where
        assert len(names) == len(values) == len(set(names)), where
        assert all(_identifier(name) and name == name.upper() for name in names), where
        named += 1
    assert named >= 5  # the three enums below and two problem schemas' statuses
    # The names are the code's own: its StrEnums' members, HTTP's names of the statuses.
    for enum in (ActionSort, HistorySort, EventType):
        schema = COMPONENTS[enum.__name__]
        assert dict(zip(schema["enum"], schema["x-enum-varnames"], strict=True)) == {
            member.value: member.name for member in enum
        }
    for model in PROBLEM_SCHEMAS:
        status = COMPONENTS[model.__name__]["properties"]["status"]
        if "enum" in status:
            assert status["x-enum-varnames"] == [HTTPStatus(code).name for code in status["enum"]]


def test_each_problem_schema_names_the_statuses_it_answers_with() -> None:
    for path, method, operation in OPERATIONS:
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                schema = _schema(_name(response["content"]["application/problem+json"]["schema"]))
                status = schema["properties"]["status"]
                assert int(code) in status.get("enum", [status.get("const")]), (method, path)
    assert _schema("PreconditionFailedProblem")["properties"]["status"]["const"] == 412
    assert _schema("ConflictProblem")["properties"]["status"]["const"] == 409


def test_shapes_are_components_never_inline_in_operations() -> None:
    for where, node in _walk(DOCUMENT["paths"]):
        if isinstance(node, dict):
            # (A dict answer is an inline shape: generators name it `GetHealthResponseGethealth`.)
            assert not {"properties", "additionalProperties", "oneOf"} & node.keys(), where
            title = node.get("title")
            assert not (isinstance(title, str) and title.startswith(("Response", "Body_"))), where
    assert "x-afi-components" not in json.dumps(DOCUMENT)
    for name in COMPONENTS:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_one_media_type_per_body_and_json_answers_only_json(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    if "requestBody" in operation:
        assert len(operation["requestBody"]["content"]) == 1
    for code, response in operation["responses"].items():
        content = response.get("content", {})
        if "application/json" in content:
            assert list(content) == ["application/json"], code


def test_parameters_are_left_out_never_null() -> None:
    for path, method, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            text = json.dumps(parameter["schema"])
            assert '"null"' not in text and '"default": null' not in text, (method, path)


def _refs(node: Any) -> set[str]:
    return {
        value.removeprefix(REF)
        for where, value in _walk(node)
        if where and where[-1] == "$ref" and isinstance(value, str)
    }


def _closure(roots: Any) -> set[str]:
    found: set[str] = set()
    pending = _refs(roots)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending |= _refs(COMPONENTS[name])
    return found


def test_answers_have_every_property_required() -> None:
    answers = _closure(
        [
            response
            for _, _, operation in OPERATIONS
            for code, response in operation["responses"].items()
            if code.startswith("2")
        ]
    )
    requests = _closure([[op.get("parameters"), op.get("requestBody")] for _, _, op in OPERATIONS])
    assert {"ActionOut", "ActionPage", "EventOut", "NoteEvidence", "StatsOut"} <= answers
    for name in answers - requests:
        schema = COMPONENTS[name]
        assert set(schema.get("required", [])) == set(schema.get("properties", {})), name


def test_problem_members_are_left_out_never_null() -> None:
    for model in PROBLEM_SCHEMAS:
        text = json.dumps(COMPONENTS[model.__name__])
        assert '"null"' not in text and '"default": null' not in text, model.__name__


def test_payloads_with_a_kind_are_discriminated_unions() -> None:
    def kinds(schema: dict[str, Any]) -> bool:
        return "const" in schema.get("properties", {}).get("kind", {})

    for name, schema in COMPONENTS.items():
        branches = schema.get("oneOf") or schema.get("anyOf") or []
        targets = [COMPONENTS[_name(branch)] for branch in branches if "$ref" in branch]
        if targets and all(kinds(target) for target in targets):
            assert schema["discriminator"]["propertyName"] == "kind", name
            assert "oneOf" in schema, name
    for name in ("EvidenceOut", "EvidenceIn"):
        assert COMPONENTS[name]["discriminator"]["propertyName"] == "kind"
    assert COMPONENTS["EventOut"]["properties"]["kind"] == {"$ref": f"{REF}EventKind"}
    conflict = COMPONENTS["ConflictProblem"]["properties"]
    assert conflict["allowed"]["items"] == {"$ref": f"{REF}ActionStatus"}


def test_downloads_are_operations_of_their_own() -> None:
    paths = DOCUMENT["paths"]
    csv = paths["/api/v1/actions.csv"]["get"]["responses"]["200"]
    assert list(csv["content"]) == ["text/csv"] and "Content-Disposition" in csv["headers"]
    listed = {p["name"] for p in paths["/api/v1/actions"]["get"]["parameters"]}
    exported = {p["name"] for p in paths["/api/v1/actions.csv"]["get"]["parameters"]}
    assert exported == listed - {"limit", "cursor", "count"}
    calendar = paths["/api/v1/calendar.ics"]["get"]["responses"]["200"]
    assert list(calendar["content"]) == ["text/calendar"]
    content = paths["/api/v1/evidence/{evidence_id}/content"]["get"]["responses"]["200"]
    assert next(iter(content["content"])) == "application/octet-stream"
    for path in ("/api/v1/reports", "/api/v1/reports/files"):
        answers = paths[path]["post"]["responses"]
        assert answers["201"]["content"]["application/json"]["schema"] == {
            "$ref": f"{REF}ImportResult"
        }
        either = answers["200"]["content"]["application/json"]["schema"]["anyOf"]
        assert {_name(branch) for branch in either} == {"ImportResult", "DryRunResult"}
