"""GET /api/v1/actions as CSV: negotiation, RFC 4180 output parsed back, streaming in batches."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.services import csv_export
from tests.helpers import assert_problem
from tests.test_action_queries import (
    AS_OF,
    Dataset,
    action_selects,
    build_dataset,
    fetch_all,
    sql_statements,
)


@pytest.fixture
def dataset(seeded: int, session: Session) -> Dataset:
    return build_dataset(session, seeded)


def parse(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="actions.csv"'
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


def as_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flat(item: dict[str, Any]) -> dict[str, str]:
    owner = item["owner"] or {}
    values = {**item, **{f"owner_{k}": owner.get(k) for k in ("name", "email", "team")}}
    return {name: as_cell(values[name]) for name in csv_export.COLUMNS}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "&status=open&status=blocked&sort=-due_date",
        "&force=cumbria&unassigned=false&sort=days_overdue",
        "&q=force&sort=-reference",
        "&overdue=true&sort=-priority",
    ],
)
def test_csv_has_the_same_rows_as_the_json_listing(
    client: TestClient, dataset: Dataset, query: str
) -> None:
    rows = parse(client.get(f"/api/v1/actions?format=csv&as_of={AS_OF}{query}"))
    items = fetch_all(client, f"/api/v1/actions?limit=3&as_of={AS_OF}{query}")
    assert len(items) > 1
    assert rows == [flat(item) for item in items]


def test_accept_text_csv_chooses_csv(client: TestClient, dataset: Dataset) -> None:
    rows = parse(client.get("/api/v1/actions?status=open", headers={"Accept": "text/csv"}))
    assert rows and {row["status"] for row in rows} == {"open"}
    preferred = client.get(
        "/api/v1/actions", headers={"Accept": "text/csv;q=0.9, application/json;q=0.5"}
    )
    assert preferred.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("url", "accept"),
    [
        ("/api/v1/actions", "application/json, text/csv;q=0.5"),
        ("/api/v1/actions", "text/csv;q=0"),
        ("/api/v1/actions", "*/*"),
        ("/api/v1/actions?format=json", "text/csv"),
    ],
)
def test_json_wins_unless_csv_is_preferred(
    client: TestClient, dataset: Dataset, url: str, accept: str
) -> None:
    response = client.get(url, headers={"Accept": accept})
    assert response.headers["content-type"] == "application/json"
    assert len(response.json()["items"]) == 23


def test_csv_is_rfc_4180(client: TestClient, dataset: Dataset) -> None:
    response = client.get("/api/v1/actions?format=csv")
    raw = response.content
    rows = parse(response)
    # One CRLF ends the header and each record; the LF inside a quoted field stays as it is.
    assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == len(rows) + 1
    assert raw.split(b"\r\n", 1)[0].decode() == ",".join(csv_export.COLUMNS)
    tricky = next(row for row in rows if "quotes" in row["description"])
    assert tricky["description"] == 'Line one, with a comma and "quotes"\nline two; =1+2'
    assert b'"Line one, with a comma and ""quotes""\nline two; =1+2"' in raw


def test_csv_streams_every_row_in_batches(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_export, "BATCH_SIZE", 4)
    with sql_statements() as statements:
        rows = parse(client.get("/api/v1/actions?format=csv&limit=2&sort=-due_date"))
    assert len(rows) == 23  # limit and cursor do not apply to the export
    selects = action_selects(statements)
    assert len(selects) == 6  # 23 rows in batches of 4, each read with LIMIT 5
    assert all("LIMIT" in s.upper() for s in selects)
    ids = [int(row["id"]) for row in rows]
    assert len(set(ids)) == 23
    json_ids = [i["id"] for i in fetch_all(client, "/api/v1/actions?sort=-due_date&limit=500")]
    assert ids == json_ids


def test_empty_export_still_has_the_header(client: TestClient, dataset: Dataset) -> None:
    response = client.get("/api/v1/actions?format=csv&force=Nowhere")
    assert parse(response) == []
    assert response.content == (",".join(csv_export.COLUMNS) + "\r\n").encode()


def test_invalid_filters_are_problems_not_csv(client: TestClient, dataset: Dataset) -> None:
    body = assert_problem(client.get("/api/v1/actions?format=csv&due_before=someday"), 422)
    assert body["errors"][0]["field"] == "due_before"
    body = assert_problem(
        client.get("/api/v1/actions?status=nope", headers={"Accept": "text/csv"}), 422
    )
    assert body["errors"][0]["field"].startswith("status")
