from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import assert_problem as _assert_problem


def test_post_report_creates_then_answers_200_for_the_same_text(
    client: TestClient, seed_text: str
) -> None:
    created = client.post(
        "/api/v1/reports", content=seed_text.encode(), headers={"Content-Type": "text/plain"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created"] is True and body["added"] == 17
    report = body["report"]
    assert created.headers["location"].endswith(f"/api/v1/reports/{report['id']}")
    assert len(report["findings"]) == 17 and report["finding_count"] == 17
    assert [len(f["subpoints"]) for f in report["findings"]][8] == 3

    again = client.post(
        "/api/v1/reports", content=seed_text.encode(), headers={"Content-Type": "text/plain"}
    )
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["report"]["id"] == report["id"]
    assert "location" not in again.headers


def test_post_report_as_multipart_with_metadata(client: TestClient) -> None:
    text = "How well?\nAreas for improvement\n- The force should improve its records.\n"
    response = client.post(
        "/api/v1/reports",
        files={"file": ("r.txt", text.encode(), "text/plain")},
        data={"force": "Durham", "programme": "PEEL", "year": "2018/19", "pillar": "Efficiency"},
    )
    assert response.status_code == 201, response.text
    report = response.json()["report"]
    assert (report["force"], report["year"], report["start_year"]) == ("Durham", "2018/19", 2018)
    assert report["findings"][0]["reference"] == "DURHAM-2018-19-EFC-AFI-01"


def test_dry_run_returns_the_parse_and_stores_nothing(client: TestClient, seed_text: str) -> None:
    response = client.post(
        "/api/v1/reports?dry_run=true", content=seed_text, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["findings"]) == 17
    assert body["findings"][6]["reference"] == "CUMBRIA-2015-EFF-AFI-07"
    assert client.get("/api/v1/reports").json()["items"] == []


def test_list_and_filter_reports(client: TestClient, seeded: int) -> None:
    items = client.get("/api/v1/reports").json()["items"]
    assert [r["id"] for r in items] == [seeded]
    assert items[0]["finding_count"] == 17
    assert client.get("/api/v1/reports?force=cumbria&year=2015&pillar=Effectiveness").json()[
        "items"
    ]
    assert client.get("/api/v1/reports?force=Durham").json()["items"] == []
    assert client.get("/api/v1/reports?programme=PEEL&year=2016").json()["items"] == []


def test_report_detail_and_finding(client: TestClient, seeded: int) -> None:
    report = client.get(f"/api/v1/reports/{seeded}").json()
    assert len(report["sections"]) == 5
    finding = report["findings"][0]
    one = client.get(f"/api/v1/findings/{finding['id']}").json()
    assert one["reference"] == "CUMBRIA-2015-EFF-AFI-01"
    assert one["question"].startswith("How effective is the force at preventing crime")
    assert one["actions"][0]["status"] == "open"


def test_actions_list_with_status_filter_and_limit(client: TestClient, seeded: int) -> None:
    items = client.get("/api/v1/actions?status=open&limit=500").json()["items"]
    assert len(items) == 17
    assert items[0]["force"] == "Cumbria" and items[0]["pillar"] == "Effectiveness"
    assert items[0]["is_overdue"] is False
    assert len(client.get("/api/v1/actions?limit=5").json()["items"]) == 5
    assert client.get("/api/v1/actions?status=completed").json()["items"] == []


def test_unknown_ids_are_404_problems(client: TestClient) -> None:
    assert _assert_problem(client.get("/api/v1/reports/999"), 404)["detail"]
    _assert_problem(client.get("/api/v1/findings/999"), 404)
    _assert_problem(client.get("/api/v1/nowhere"), 404)


def test_bad_input_gets_problem_json(client: TestClient) -> None:
    body = _assert_problem(client.get("/api/v1/reports/abc"), 422)
    assert body["errors"][0]["field"] == "report_id"
    body = _assert_problem(client.get("/api/v1/actions?status=nonsense"), 422)
    assert body["errors"][0]["field"] == "status.0"
    _assert_problem(client.get("/api/v1/actions?limit=0"), 422)
    _assert_problem(client.delete("/api/v1/reports"), 405)


def test_unparseable_text_is_a_422_problem_and_stores_nothing(client: TestClient) -> None:
    for text in ("", "hello there, this is not a report", "\x89PNG\r\n\x1a\n\x00\x00"):
        body = _assert_problem(
            client.post(
                "/api/v1/reports",
                content=text.encode("latin-1", "replace"),
                headers={"Content-Type": "text/plain"},
            ),
            422,
        )
        assert body["line"] >= 1 and body["expected"]
    assert client.get("/api/v1/reports").json()["items"] == []


def test_wrong_media_type_and_missing_file_part(client: TestClient) -> None:
    _assert_problem(client.post("/api/v1/reports", json={"text": "x"}), 415)
    _assert_problem(client.post("/api/v1/reports", files={"other": ("a", b"x")}), 422)


def test_bodies_over_the_limit_get_413(client: TestClient) -> None:
    from app.settings import get_settings

    too_big = b"x" * (get_settings().max_body_bytes + 1)
    body = _assert_problem(
        client.post("/api/v1/reports", content=too_big, headers={"Content-Type": "text/plain"}), 413
    )
    assert "limit" in body["detail"]

    def chunks() -> Any:
        for _ in range(6):
            yield b"y" * (1024 * 1024)

    _assert_problem(
        client.post("/api/v1/reports", content=chunks(), headers={"Content-Type": "text/plain"}),
        413,
    )
    assert client.get("/api/v1/reports").json()["items"] == []


def test_reports_with_more_findings_than_the_limit_get_413_and_store_nothing(
    client: TestClient, seed_text: str, monkeypatch: Any
) -> None:
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_import_findings", 16)  # the seed has 17
    response = client.post(
        "/api/v1/reports", content=seed_text.encode(), headers={"Content-Type": "text/plain"}
    )
    body = _assert_problem(response, 413)
    assert body["detail"].startswith("The report has 17 findings; one import stores at most 16")
    assert "AFI_MAX_IMPORT_FINDINGS" in body["detail"]
    assert (body["findings"], body["limit"]) == (17, 16)
    assert client.get("/api/v1/reports").json()["items"] == []
    # A dry run stores nothing, so it holds no lock: it still shows the parse.
    dry = client.post(
        "/api/v1/reports?dry_run=true", content=seed_text, headers={"Content-Type": "text/plain"}
    )
    assert dry.status_code == 200 and len(dry.json()["findings"]) == 17

    monkeypatch.setattr(get_settings(), "max_import_findings", 17)
    created = client.post(
        "/api/v1/reports", content=seed_text.encode(), headers={"Content-Type": "text/plain"}
    )
    assert created.status_code == 201, created.text


def test_a_reimport_over_the_limit_leaves_the_stored_report_as_it_was(
    client: TestClient, seed_text: str, seeded: int, monkeypatch: Any
) -> None:
    from app.settings import get_settings

    before = client.get(f"/api/v1/reports/{seeded}").json()
    monkeypatch.setattr(get_settings(), "max_import_findings", 17)
    longer = seed_text.replace(
        "- The constabulary should ensure that the risks posed by registered sex offenders",
        "- The constabulary should publish a digital forensics plan within six months.\n"
        "- The constabulary should ensure that the risks posed by registered sex offenders",
    )
    assert longer != seed_text
    response = client.post(
        "/api/v1/reports", content=longer.encode(), headers={"Content-Type": "text/plain"}
    )
    assert _assert_problem(response, 413)["findings"] == 18
    assert client.get(f"/api/v1/reports/{seeded}").json() == before


def test_health_ready_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    spec = client.get("/openapi.json").json()
    assert "/api/v1/reports" in spec["paths"]
    # One kind of body per operation: report text, or a file.
    content = spec["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]
    assert content.keys() == {"text/plain"}
    files = spec["paths"]["/api/v1/reports/files"]["post"]["requestBody"]["content"]
    assert files.keys() == {"multipart/form-data"}
