"""Bad input is a 4xx problem, never a 500: ids, control characters, lengths and dates.

Each table names a route and where the bad value goes; every case must be refused by
validation (422) on SQLite and PostgreSQL alike, before anything reaches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import clock
from tests.helpers import add_note, assert_problem, first_action

ID_MAX = 2**31 - 1
BAD_IDS = [0, -1, 2**31, 2**63, 99999999999999999999]
SMALL_REPORT = "Kent PEEL 2017\nIs it good?\nAreas for improvement\n- The force should act.\n"


@pytest.fixture
def ids(client: TestClient, seeded: int) -> dict[str, int]:
    """One stored item of each kind, for the routes' other ids and for the valid cases."""
    action = first_action(client)
    add_note(client, action["id"])
    evidence = client.get(f"/api/v1/actions/{action['id']}/evidence").json()["items"][0]
    owner = client.post("/api/v1/owners", json={"name": "Bounds owner"}).json()
    token = client.post("/api/v1/tokens", json={"name": "bounds", "role": "viewer"}).json()
    return {
        "action": action["id"],
        "finding": action["finding_id"],
        "report": seeded,
        "evidence": evidence["id"],
        "owner": owner["id"],
        "token": token["id"],
    }


def _fields(body: dict[str, Any]) -> set[str]:
    return {str(error["field"]) for error in body.get("errors") or []}


# --- ids ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathRoute:
    method: str
    path: str  # with {id} where the id goes
    field: str  # the path parameter's name
    json: dict[str, Any] | None = None


PATH_ROUTES = [
    PathRoute("GET", "/api/v1/actions/{id}", "action_id"),
    PathRoute("PATCH", "/api/v1/actions/{id}", "action_id", {"priority": "high"}),
    PathRoute("POST", "/api/v1/actions/{id}/transitions", "action_id", {"to": "in_progress"}),
    PathRoute("GET", "/api/v1/actions/{id}/history", "action_id"),
    PathRoute("POST", "/api/v1/actions/{id}/comments", "action_id", {"comment": "Noted"}),
    PathRoute("GET", "/api/v1/actions/{id}/evidence", "action_id"),
    PathRoute("POST", "/api/v1/actions/{id}/evidence", "action_id", {"kind": "note", "text": "x"}),
    PathRoute("GET", "/api/v1/evidence/{id}", "evidence_id"),
    PathRoute("GET", "/api/v1/evidence/{id}/content", "evidence_id"),
    PathRoute("DELETE", "/api/v1/evidence/{id}", "evidence_id"),
    PathRoute("GET", "/api/v1/owners/{id}", "owner_id"),
    PathRoute("PATCH", "/api/v1/owners/{id}", "owner_id", {"team": "Ops"}),
    PathRoute("DELETE", "/api/v1/owners/{id}", "owner_id"),
    PathRoute("GET", "/api/v1/reports/{id}", "report_id"),
    PathRoute("GET", "/api/v1/findings/{id}", "finding_id"),
    PathRoute("GET", "/api/v1/tokens/{id}", "token_id"),
    PathRoute("DELETE", "/api/v1/tokens/{id}", "token_id"),
]


def _call(client: TestClient, route: PathRoute, id_value: int) -> Any:
    return client.request(route.method, route.path.format(id=id_value), json=route.json)


@pytest.mark.parametrize("bad", BAD_IDS, ids=str)
@pytest.mark.parametrize("route", PATH_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_out_of_range_path_ids_are_invalid(client: TestClient, route: PathRoute, bad: int) -> None:
    body = assert_problem(_call(client, route, bad), 422)
    assert route.field in _fields(body)
    assert {error["in"] for error in body["errors"]} == {"path"}


@pytest.mark.parametrize("route", PATH_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_the_largest_path_id_is_simply_not_found(client: TestClient, route: PathRoute) -> None:
    body = assert_problem(_call(client, route, ID_MAX), 404)
    assert str(ID_MAX) in body["detail"]


@dataclass(frozen=True)
class BodyIdCase:
    name: str
    method: str
    path: str  # may name {action}
    body: Callable[[dict[str, int], int], dict[str, Any]]
    field: str
    found: int  # what the largest id gets from the service: no such item


BODY_ID_CASES = [
    BodyIdCase("create finding_id", "POST", "/api/v1/actions", lambda _, v: {"finding_id": v},
               "finding_id", 422),
    BodyIdCase("create owner_id", "POST", "/api/v1/actions",
               lambda i, v: {"finding_id": i["finding"], "owner_id": v}, "owner_id", 422),
    BodyIdCase("update owner_id", "PATCH", "/api/v1/actions/{action}",
               lambda _, v: {"owner_id": v}, "owner_id", 422),
    BodyIdCase("bulk action_ids", "POST", "/api/v1/actions/bulk",
               lambda _, v: {"action_ids": [v], "set": {"priority": "high"}}, "action_ids.0", 404),
    BodyIdCase("bulk owner_id", "POST", "/api/v1/actions/bulk",
               lambda i, v: {"action_ids": [i["action"]], "set": {"owner_id": v}},
               "set.owner_id", 422),
    BodyIdCase("superseded_by_action_id", "POST", "/api/v1/actions/{action}/transitions",
               lambda _, v: {"to": "superseded", "comment": "Replaced",
                             "superseded_by_action_id": v},
               "superseded_by_action_id", 404),
    BodyIdCase("superseded_by_finding_id", "POST", "/api/v1/actions/{action}/transitions",
               lambda _, v: {"to": "superseded", "comment": "Replaced",
                             "superseded_by_finding_id": v},
               "superseded_by_finding_id", 404),
    BodyIdCase("token owner_id", "POST", "/api/v1/tokens",
               lambda _, v: {"name": "bounds-owner", "role": "viewer", "owner_id": v},
               "owner_id", 422),
]  # fmt: skip


def _call_body(client: TestClient, case: BodyIdCase, ids: dict[str, int], value: int) -> Any:
    path = case.path.format(action=ids["action"])
    return client.request(case.method, path, json=case.body(ids, value))


@pytest.mark.parametrize("bad", BAD_IDS, ids=str)
@pytest.mark.parametrize("case", BODY_ID_CASES, ids=lambda c: c.name)
def test_out_of_range_body_ids_are_invalid(
    client: TestClient, ids: dict[str, int], case: BodyIdCase, bad: int
) -> None:
    body = assert_problem(_call_body(client, case, ids, bad), 422)
    assert _fields(body) == {case.field}
    assert {error["in"] for error in body["errors"]} == {"body"}


@pytest.mark.parametrize("case", BODY_ID_CASES, ids=lambda c: c.name)
def test_the_largest_body_id_reaches_the_service(
    client: TestClient, ids: dict[str, int], case: BodyIdCase
) -> None:
    body = assert_problem(_call_body(client, case, ids, ID_MAX), case.found)
    # The service looked for it (request validation would answer "Invalid value for: ...").
    assert str(ID_MAX) in body["detail"]
    assert not body["detail"].startswith("Invalid value for")


@pytest.mark.parametrize("bad", BAD_IDS, ids=str)
@pytest.mark.parametrize("name", ["owner_id", "report_id"])
def test_out_of_range_filter_ids_are_invalid(
    client: TestClient, seeded: int, name: str, bad: int
) -> None:
    body = assert_problem(client.get(f"/api/v1/actions?{name}={bad}"), 422)
    assert _fields(body) == {name}


# --- control characters in text ----------------------------------------------------------

NUL = "\x00"
SINGLE_LINE_BAD = ["\x00", "\x01", "\x1b", "\x1f", "\n", "\r", "\t", "\x7f"]
MULTI_LINE_BAD = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
MULTI_LINE_GOOD = "First line\r\n\tindented\nlast line"


@dataclass(frozen=True)
class TextCase:
    name: str
    method: str
    path: str  # may name {action} or {owner}
    body: Callable[[dict[str, int], str], dict[str, Any]]
    field: str
    multi_line: bool
    ok: int = 200


TEXT_CASES = [
    TextCase("owner name", "POST", "/api/v1/owners", lambda _, t: {"name": t}, "name", False, 201),
    TextCase("owner team", "POST", "/api/v1/owners", lambda _, t: {"name": "A", "team": t},
             "team", False, 201),
    TextCase("owner update name", "PATCH", "/api/v1/owners/{owner}", lambda _, t: {"name": t},
             "name", False),
    TextCase("owner update team", "PATCH", "/api/v1/owners/{owner}", lambda _, t: {"team": t},
             "team", False),
    TextCase("action title", "POST", "/api/v1/actions",
             lambda i, t: {"finding_id": i["finding"], "title": t}, "title", False, 201),
    TextCase("action description", "POST", "/api/v1/actions",
             lambda i, t: {"finding_id": i["finding"], "description": t}, "description", True,
             201),
    TextCase("action progress_note", "POST", "/api/v1/actions",
             lambda i, t: {"finding_id": i["finding"], "progress_note": t}, "progress_note",
             True, 201),
    TextCase("update title", "PATCH", "/api/v1/actions/{action}", lambda _, t: {"title": t},
             "title", False),
    TextCase("update description", "PATCH", "/api/v1/actions/{action}",
             lambda _, t: {"description": t}, "description", True),
    TextCase("update progress_note", "PATCH", "/api/v1/actions/{action}",
             lambda _, t: {"progress_note": t}, "progress_note", True),
    TextCase("transition comment", "POST", "/api/v1/actions/{action}/transitions",
             lambda _, t: {"to": "in_progress", "comment": t}, "comment", True),
    TextCase("comment", "POST", "/api/v1/actions/{action}/comments", lambda _, t: {"comment": t},
             "comment", True, 201),
    TextCase("evidence note text", "POST", "/api/v1/actions/{action}/evidence",
             lambda _, t: {"kind": "note", "text": t}, "note.text", True, 201),
    TextCase("evidence link description", "POST", "/api/v1/actions/{action}/evidence",
             lambda _, t: {"kind": "link", "url": "https://example.org/", "description": t},
             "link.description", True, 201),
    TextCase("token name", "POST", "/api/v1/tokens",
             lambda _, t: {"name": t, "role": "viewer"}, "name", False, 201),
]  # fmt: skip


def _send_text(client: TestClient, case: TextCase, ids: dict[str, int], text: str) -> Any:
    path = case.path.format(action=ids["action"], owner=ids["owner"])
    return client.request(case.method, path, json=case.body(ids, text))


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.name)
def test_nul_in_json_text_is_invalid(
    client: TestClient, ids: dict[str, int], case: TextCase
) -> None:
    body = assert_problem(_send_text(client, case, ids, f"Tea{NUL}time"), 422)
    assert _fields(body) == {case.field}, body


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.name)
def test_control_characters_in_json_text_are_invalid(
    client: TestClient, ids: dict[str, int], case: TextCase
) -> None:
    for char in MULTI_LINE_BAD if case.multi_line else SINGLE_LINE_BAD:
        response = _send_text(client, case, ids, f"Tea{char}time")
        body = assert_problem(response, 422)
        assert _fields(body) == {case.field}, (repr(char), body)


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.name)
def test_plain_text_is_still_accepted(
    client: TestClient, ids: dict[str, int], case: TextCase
) -> None:
    text = MULTI_LINE_GOOD if case.multi_line else "Tea time"
    response = _send_text(client, case, ids, text)
    assert response.status_code == case.ok, response.text


def test_control_characters_are_named_in_the_problem(client: TestClient, seeded: int) -> None:
    body = assert_problem(client.post("/api/v1/owners", json={"name": f"A{NUL}B"}), 422)
    message = body["errors"][0]["message"]
    assert "control character" in message and "U+0000" in message


def test_nul_in_an_owner_email_is_invalid(client: TestClient) -> None:
    body = assert_problem(
        client.post("/api/v1/owners", json={"name": "A", "email": f"a{NUL}@example.org"}), 422
    )
    assert _fields(body) == {"email"}


def test_nul_in_a_file_description_is_invalid(client: TestClient, ids: dict[str, int]) -> None:
    response = client.post(
        f"/api/v1/actions/{ids['action']}/evidence",
        files={"file": ("minutes.txt", b"minutes", "text/plain")},
        data={"description": f"Minutes{NUL}"},
    )
    body = assert_problem(response, 422)
    assert _fields(body) == {"description"}
    assert client.get(f"/api/v1/actions/{ids['action']}/evidence").json()["total"] == 1


FILTER_ROUTES = [
    "/api/v1/actions",
    "/api/v1/stats",
    "/api/v1/actions/overdue-summary",
    "/api/v1/calendar.ics",
]
FILTER_TEXT = ["q", "force", "year", "programme", "pillar"]
METADATA = ["force", "programme", "year", "pillar"]


@pytest.mark.parametrize("name", FILTER_TEXT)
@pytest.mark.parametrize("path", FILTER_ROUTES)
def test_nul_in_filters_is_invalid(client: TestClient, seeded: int, path: str, name: str) -> None:
    body = assert_problem(client.get(path, params={name: f"Cumbria{NUL}"}), 422)
    assert _fields(body) == {name}
    assert {error["in"] for error in body["errors"]} == {"query"}


@pytest.mark.parametrize("name", FILTER_TEXT)
def test_other_control_characters_in_filters_are_invalid(
    client: TestClient, seeded: int, name: str
) -> None:
    for char in SINGLE_LINE_BAD:
        body = assert_problem(client.get("/api/v1/actions", params={name: f"A{char}B"}), 422)
        assert _fields(body) == {name}, repr(char)


@pytest.mark.parametrize("name", METADATA)
def test_nul_in_report_list_filters_is_invalid(client: TestClient, seeded: int, name: str) -> None:
    body = assert_problem(client.get("/api/v1/reports", params={name: f"Cumbria{NUL}"}), 422)
    assert _fields(body) == {name}


def test_nul_in_the_owner_team_filter_is_invalid(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/owners", params={"team": f"Ops{NUL}"}), 422)
    assert _fields(body) == {"team"}


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("name", METADATA)
def test_nul_in_report_metadata_query_is_invalid(
    client: TestClient, name: str, dry_run: bool
) -> None:
    response = client.post(
        "/api/v1/reports",
        params={name: f"Kent{NUL}", "dry_run": dry_run},
        content=SMALL_REPORT.encode(),
        headers={"Content-Type": "text/plain"},
    )
    body = assert_problem(response, 422)
    assert _fields(body) == {name}
    assert client.get("/api/v1/reports").json()["total"] == 0


@pytest.mark.parametrize("name", METADATA)
def test_nul_in_report_metadata_parts_is_invalid(client: TestClient, name: str) -> None:
    response = client.post(
        "/api/v1/reports",
        files={"file": ("kent.txt", SMALL_REPORT.encode(), "text/plain")},
        data={name: f"Kent{NUL}"},
    )
    body = assert_problem(response, 422)
    assert _fields(body) == {name}
    assert body["errors"][0]["in"] == "body"
    assert client.get("/api/v1/reports").json()["total"] == 0


# --- report metadata lengths -------------------------------------------------------------

LIMITS = {"force": 100, "programme": 30, "year": 20, "pillar": 60}


def _value(name: str, length: int) -> str:
    # A year must start with four digits; the other values are any text.
    return ("2017" + "9" * (length - 4)) if name == "year" else "K" * length


def _longest() -> dict[str, str]:
    return {name: _value(name, limit) for name, limit in LIMITS.items()}


def _post_report(client: TestClient, how: str, metadata: dict[str, str], **params: Any) -> Any:
    if how == "query":
        return client.post(
            "/api/v1/reports",
            params={**metadata, **params},
            content=SMALL_REPORT.encode(),
            headers={"Content-Type": "text/plain"},
        )
    return client.post(
        "/api/v1/reports",
        params=params,
        files={"file": ("kent.txt", SMALL_REPORT.encode(), "text/plain")},
        data=metadata,
    )


@pytest.mark.parametrize("how", ["query", "multipart"])
@pytest.mark.parametrize("name", METADATA)
def test_over_long_report_metadata_is_invalid(client: TestClient, how: str, name: str) -> None:
    metadata = {**_longest(), name: _value(name, LIMITS[name] + 1)}
    body = assert_problem(_post_report(client, how, metadata), 422)
    assert _fields(body) == {name}
    assert client.get("/api/v1/reports").json()["total"] == 0


@pytest.mark.parametrize("how", ["query", "multipart"])
def test_the_longest_report_metadata_is_stored(client: TestClient, how: str) -> None:
    metadata = _longest()
    response = _post_report(client, how, metadata)
    assert response.status_code == 201, response.text
    report = response.json()["report"]
    assert (report["force"], report["programme"], report["year"], report["pillar"]) == (
        metadata["force"],
        metadata["programme"],
        metadata["year"],
        metadata["pillar"],
    )
    assert len(report["reference_prefix"]) <= 90
    # Another programme is another report; its short prefix is taken, so it gets the long one.
    other = _post_report(client, how, {**metadata, "programme": "Q" * 30})
    assert other.status_code == 201, other.text
    prefix = other.json()["report"]["reference_prefix"]
    assert prefix != report["reference_prefix"] and "QQQ" in prefix and len(prefix) <= 90


@pytest.mark.parametrize("name", METADATA)
def test_over_long_report_list_filters_are_invalid(client: TestClient, name: str) -> None:
    body = assert_problem(
        client.get("/api/v1/reports", params={name: _value(name, LIMITS[name] + 1)}), 422
    )
    assert _fields(body) == {name}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("K" * 101 + " PEEL 2017", "force"),
        ("Kent " + "P" * 31 + " 2017", "programme"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_over_long_header_metadata_is_unparseable(
    client: TestClient, header: str, expected: str, dry_run: bool
) -> None:
    text = SMALL_REPORT.replace("Kent PEEL 2017", header)
    response = client.post(
        "/api/v1/reports",
        params={"dry_run": dry_run},
        content=text.encode(),
        headers={"Content-Type": "text/plain"},
    )
    body = assert_problem(response, 422)
    assert body["type"] == "urn:afi:problem:unparseable-report"
    assert body["line"] == 1 and expected in body["detail"]
    assert client.get("/api/v1/reports").json()["total"] == 0


def test_the_longest_header_metadata_is_stored(client: TestClient) -> None:
    header = "K" * 100 + " " + "P" * 30 + " 2017"
    text = SMALL_REPORT.replace("Kent PEEL 2017", header)
    response = client.post(
        "/api/v1/reports", content=text.encode(), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["report"]["force"] == "K" * 100


@pytest.mark.parametrize("name", METADATA)
def test_the_parser_refuses_over_long_metadata(name: str) -> None:
    from app.errors import InvalidInput
    from app.parser import parse_report

    with pytest.raises(InvalidInput) as caught:
        parse_report(SMALL_REPORT, **{name: _value(name, LIMITS[name] + 1)})
    assert name in caught.value.detail
    parse_report(SMALL_REPORT, **{name: _value(name, LIMITS[name])})


def test_reference_prefixes_fit_their_columns() -> None:
    from app.services.references import candidate_prefixes

    assert candidate_prefixes(
        force="Cumbria", programme="PEEL", year="2015", pillar="Effectiveness"
    ) == ["CUMBRIA-2015-EFF", "CUMBRIA-PEEL-2015-EFFECTIVENESS"]
    for force in ("K" * 100, "K-" * 50, "Kent " * 20, "K" * 500):
        for pillar in (None, "P" * 60, "Pillar " * 8):
            prefixes = candidate_prefixes(
                force=force, programme="P" * 30, year="2017/" + "9" * 15, pillar=pillar
            )
            assert len(set(prefixes)) == 2
            for prefix in prefixes:
                assert 0 < len(prefix) <= 90, prefix
                assert not prefix.endswith("-") and "--" not in prefix, prefix
            assert prefixes[1].startswith("K") and "PPP" in prefixes[1] and "2017" in prefixes[1]


# --- who did it --------------------------------------------------------------------------


def test_principal_labels_fit_their_columns() -> None:
    from app.enums import Role
    from app.principal import Principal

    short = Principal(token_id=1, name="ci", role=Role.EDITOR, owner_name="Ann")
    assert short.label == "ci (for Ann)"
    long = Principal(token_id=1, name="t" * 100, role=Role.EDITOR, owner_name="o" * 200)
    assert len(long.label) == 200
    assert long.label.startswith("t" * 100 + " (for o")
    assert len(Principal(token_id=None, name="n" * 300, role=None).label) == 200


def test_long_token_and_owner_names_can_act(
    client: TestClient, client_as: Callable[..., Any], ids: dict[str, int]
) -> None:
    owner = client.post("/api/v1/owners", json={"name": "O" * 200}).json()
    editor = client_as("editor", name="t" * 100, owner_id=owner["id"])
    action = ids["action"]
    response = editor.post(f"/api/v1/actions/{action}/comments", json={"comment": "Noted"})
    assert response.status_code == 201, response.text
    assert len(response.json()["actor"]) == 200
    add_note(editor, action)
    items = editor.get(f"/api/v1/actions/{action}/evidence").json()["items"]
    assert max(len(item["created_by"]) for item in items) == 200


# --- dates -------------------------------------------------------------------------------

BAD_DATES = ["9999-12-31", "9001-01-01", "1899-12-31", "0001-01-01"]
EDGE_DATES = ["1900-01-01", "9000-12-31"]


@pytest.mark.parametrize("day", BAD_DATES)
def test_out_of_range_due_dates_are_invalid(
    client: TestClient, ids: dict[str, int], day: str
) -> None:
    action = ids["action"]
    cases = [
        ("PATCH", f"/api/v1/actions/{action}", {"due_date": day}, "due_date"),
        ("POST", "/api/v1/actions", {"finding_id": ids["finding"], "due_date": day}, "due_date"),
        ("POST", "/api/v1/actions/bulk", {"action_ids": [action], "set": {"due_date": day}},
         "set.due_date"),
    ]  # fmt: skip
    for method, path, json, field in cases:
        body = assert_problem(client.request(method, path, json=json), 422)
        assert _fields(body) == {field}, (path, body)
    assert client.get(f"/api/v1/actions/{action}").json()["due_date"] is None


@pytest.mark.parametrize("day", EDGE_DATES)
def test_the_edge_due_dates_are_stored_and_served(
    client: TestClient, ids: dict[str, int], day: str
) -> None:
    action = ids["action"]
    response = client.patch(f"/api/v1/actions/{action}", json={"due_date": day})
    assert response.status_code == 200, response.text
    assert response.json()["due_date"] == day
    calendar = client.get("/api/v1/calendar.ics")
    assert calendar.status_code == 200, calendar.text
    assert day.replace("-", "") in calendar.text
    summary = client.get("/api/v1/actions/overdue-summary", params={"due_within": 3650})
    assert summary.status_code == 200, summary.text
    # On a past day the action is as it stood: before it was made, there was none (404).
    made = date.fromisoformat(day) >= clock.today()
    as_of = client.get(f"/api/v1/actions/{action}", params={"as_of": day})
    assert as_of.status_code == (200 if made else 404), as_of.text


@pytest.mark.parametrize("day", BAD_DATES)
@pytest.mark.parametrize("name", ["as_of", "due_before", "due_after"])
@pytest.mark.parametrize("path", FILTER_ROUTES)
def test_out_of_range_filter_dates_are_invalid(
    client: TestClient, seeded: int, path: str, name: str, day: str
) -> None:
    params: dict[str, Any] = {name: day}
    if path.endswith("overdue-summary"):
        params["due_within"] = 5
    body = assert_problem(client.get(path, params=params), 422)
    assert _fields(body) == {name}


@pytest.mark.parametrize("day", EDGE_DATES)
@pytest.mark.parametrize("path", FILTER_ROUTES)
def test_the_edge_filter_dates_are_accepted(
    client: TestClient, seeded: int, path: str, day: str
) -> None:
    for name in ("as_of", "due_before", "due_after"):
        params: dict[str, Any] = {name: day, "due_within": 3650}
        response = client.get(path, params=params)
        assert response.status_code == 200, (name, response.text)


def test_the_overdue_summary_far_in_the_future_is_invalid(client: TestClient, seeded: int) -> None:
    response = client.get(
        "/api/v1/actions/overdue-summary", params={"as_of": "9999-12-31", "due_within": 5}
    )
    assert _fields(assert_problem(response, 422)) == {"as_of"}


@pytest.mark.parametrize("day", BAD_DATES)
def test_out_of_range_as_of_on_one_action_is_invalid(
    client: TestClient, ids: dict[str, int], day: str
) -> None:
    response = client.get(f"/api/v1/actions/{ids['action']}", params={"as_of": day})
    assert _fields(assert_problem(response, 422)) == {"as_of"}
