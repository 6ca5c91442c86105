"""The committee pack served (GET /api/v1/pack.xlsx, /api/v1/pack.html) and written by
`afi pack`: what it holds is recounted from the action list of the same selection."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app import clock
from app.cli import cli
from app.services import changes as change_feed
from app.services.pack import previous_quarter_start
from app.services.pack_html import CONTENT_SECURITY_POLICY
from app.services.pack_xlsx import MEDIA_TYPE as XLSX
from app.settings import get_settings
from tests.helpers import add_note, assert_problem, move

runner = CliRunner()
CLOSED = ("completed", "superseded", "withdrawn")


@dataclass(frozen=True)
class Quarter:
    """The seed report after a little work: ids of the actions that were worked on."""

    report_id: int
    revised: int
    first_due: date
    revised_due: date
    red: int
    green: int
    proposed: int
    late: int


@pytest.fixture
def quarter(client: TestClient, seeded: int, data_dir: Path) -> Quarter:
    ids = [item["id"] for item in client.get("/api/v1/actions?limit=6").json()["items"]]
    revised, red, green, proposed, late = ids[:5]
    today = clock.today()
    first_due, revised_due = today + timedelta(days=30), today + timedelta(days=60)
    owner = client.post("/api/v1/owners", json={"name": "Supt Jones"}).json()["id"]

    def patch(action_id: int, **fields: Any) -> None:
        response = client.patch(f"/api/v1/actions/{action_id}", json=fields)
        assert response.status_code == 200, response.text

    patch(revised, owner_id=owner, due_date=first_due.isoformat())
    patch(revised, due_date=revised_due.isoformat(), due_date_reason="The new system is late")
    patch(red, rag="red", percent_complete=10, progress_note="Behind plan")
    patch(green, rag="green", percent_complete=90, progress_note="Nearly there")
    assert move(client, proposed, "in_progress").status_code == 200
    add_note(client, proposed, "Board minutes")
    assert move(client, proposed, "pending_sign_off").status_code == 200
    patch(late, due_date=(today - timedelta(days=45)).isoformat())
    return Quarter(seeded, revised, first_due, revised_due, red, green, proposed, late)


def _listed(client: TestClient, query: str) -> list[dict[str, Any]]:
    """Every action of the list for this query."""
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = client.get(f"/api/v1/actions?{query}&limit=500{cursor}").json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def _sheet_rows(book: Any, name: str) -> list[dict[str, Any]]:
    header, *rows = book[name].iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _table(book: Any, name: str) -> list[tuple[Any, ...]]:
    figures = book["Figures"]
    return [tuple(c.value for c in row) for row in figures[figures.tables[name].ref]][1:]


def test_the_workbook_holds_what_the_list_holds(client: TestClient, quarter: Quarter) -> None:
    response = client.get(f"/api/v1/pack.xlsx?report_id={quarter.report_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    today = clock.today()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="committee-pack-{today.isoformat()}.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Items", "Changes", "Figures"]
    listed = _listed(client, f"report_id={quarter.report_id}")
    items = {row["Reference"]: row for row in _sheet_rows(book, "Items")}
    assert list(items) == [action["reference"] for action in listed]
    by_id = {action["id"]: action for action in listed}
    revised = items[by_id[quarter.revised]["reference"]]
    assert revised["Original due date"].date() == quarter.first_due
    assert revised["Due date"].date() == quarter.revised_due
    assert revised["Due date revisions"] == 1 and revised["Owner"] == "Supt Jones"
    assert items[by_id[quarter.red]["reference"]]["RAG"] == "Red"
    assert items[by_id[quarter.red]["reference"]]["Progress note"] == "Behind plan"
    assert items[by_id[quarter.proposed]["reference"]]["Proposed for closure"] is True
    assert items[by_id[quarter.late]["reference"]]["Days overdue"] == 45
    for action in listed:
        row = items[action["reference"]]
        assert row["Days overdue"] == action["days_overdue"]
        assert row["Stale"] is action["stale"]

    # RAG per report, recounted from the list.
    ((report, red, amber, green, not_assessed, total),) = _table(book, "RagByReport")
    rags = [action["rag"] for action in listed]
    assert (red, amber, green, not_assessed, total) == (
        rags.count("red"), rags.count("amber"), rags.count("green"), rags.count(None), len(rags),
    )  # fmt: skip
    assert report == client.get(f"/api/v1/reports/{quarter.report_id}").json()["title"]

    # The trend's last period is the pack's day: its open and overdue actions are the list's.
    trend = _table(book, "Trend")
    assert len(trend) == 12
    last_end, last_open, last_overdue, *_ = trend[-1]
    assert last_end.date() == today
    assert last_open == sum(1 for action in listed if action["status"] not in CLOSED)
    overdue = [action for action in listed if action["is_overdue"]]
    assert last_overdue == len(overdue)
    assert sum(count for _, count in _table(book, "Ageing")) == len(overdue)

    # The changes since the start of the previous quarter include this quarter's work.
    changes = _sheet_rows(book, "Changes")
    revisions = [row for row in changes if row["Change"] == "Due date revised"]
    assert [(r["Reference"], r["From"].date(), r["To"].date(), r["Reason"]) for r in revisions] == [
        (by_id[quarter.revised]["reference"], quarter.first_due, quarter.revised_due,
         "The new system is late"),
    ]  # fmt: skip
    proposed = [row["Reference"] for row in changes if row["Change"] == "Proposed for closure"]
    assert proposed == [by_id[quarter.proposed]["reference"]]


def test_the_page_is_served_with_its_charts_and_its_own_policy(
    client_as: Any, quarter: Quarter
) -> None:
    viewer = client_as("viewer")
    response = viewer.get(f"/api/v1/pack.html?report_id={quarter.report_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == (
        f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'"
    )
    assert response.headers["content-disposition"].startswith("inline; filename=")
    page = response.text
    assert page.count("<svg ") == 3
    listed = _listed(viewer, f"report_id={quarter.report_id}")
    assert f"Items ({len(listed)})" in page
    assert all(action["reference"] in page for action in listed)


def test_filters_narrow_the_pack_as_they_narrow_the_list(
    client: TestClient, quarter: Quarter
) -> None:
    response = client.get(f"/api/v1/pack.xlsx?report_id={quarter.report_id}&rag=red&rag=green")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    references = [row["Reference"] for row in _sheet_rows(book, "Items")]
    listed = _listed(client, f"report_id={quarter.report_id}&rag=red&rag=green")
    assert references == [action["reference"] for action in listed] and len(references) == 2
    ((_report, red, amber, green, not_assessed, total),) = _table(book, "RagByReport")
    assert (red, amber, green, not_assessed, total) == (1, 0, 1, 0, 2)


def test_since_defaults_to_the_previous_quarter_and_may_not_follow_the_pack_day(
    client: TestClient, quarter: Quarter
) -> None:
    as_of = clock.today()
    page = client.get(f"/api/v1/pack.html?report_id={quarter.report_id}").text
    since = previous_quarter_start(as_of)
    assert f'<time datetime="{since.isoformat()}">' in page
    later = (as_of + timedelta(days=1)).isoformat()
    problem = assert_problem(client.get(f"/api/v1/pack.xlsx?since={later}"), 422)
    assert problem["field"] == "since" and [e["field"] for e in problem["errors"]] == ["since"]
    problem = assert_problem(client.get("/api/v1/pack.html?since=2020-01-01&as_of=2019-12-31"), 422)
    assert problem["field"] == "since"


def test_previous_quarter_start() -> None:
    assert previous_quarter_start(date(2025, 5, 12)) == date(2025, 1, 1)
    assert previous_quarter_start(date(2025, 1, 1)) == date(2024, 10, 1)
    assert previous_quarter_start(date(2025, 12, 31)) == date(2025, 7, 1)


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "since=2025-13-01",
        "report_id=0",
        "as_of=yesterday",
        "rag=pink",
        "overdue=true",
        "stale=false",
    ],
)
def test_invalid_parameters_are_422(client: TestClient, query: str) -> None:
    for path in ("/api/v1/pack.xlsx", "/api/v1/pack.html"):
        assert_problem(client.get(f"{path}?{query}"), 422)


def test_a_selection_larger_than_a_pack_holds_is_refused(
    client: TestClient, quarter: Quarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "max_pack_items", 5)
    listed = _listed(client, f"report_id={quarter.report_id}")
    problem = assert_problem(client.get(f"/api/v1/pack.xlsx?report_id={quarter.report_id}"), 422)
    assert problem["type"] == "urn:afi:problem:pack-too-large"
    assert (problem["actions"], problem["limit"]) == (len(listed), 5)
    narrowed = client.get(f"/api/v1/pack.xlsx?report_id={quarter.report_id}&rag=red")
    assert narrowed.status_code == 200


def test_a_pack_says_when_it_leaves_changes_out(
    client: TestClient, quarter: Quarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack holds the first changes.MAX_CHANGES changes of its period; when there were more,
    its Changes sheet (below the table) and its page say so, and otherwise they say nothing."""
    since = previous_quarter_start(clock.today())
    query = f"report_id={quarter.report_id}"
    every = client.get(f"/api/v1/changes?{query}&since={since}&limit=1000").json()
    assert every["next_cursor"] is None
    total = len(every["items"])
    assert total >= 5
    left_out = f"Only the first {total - 1:,} changes are shown: more were left out."
    for cap, shown in ((total, None), (total + 1, None), (total - 1, left_out)):
        monkeypatch.setattr(change_feed, "MAX_CHANGES", cap)
        book = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/pack.xlsx?{query}").content))
        sheet = book["Changes"]
        rows = list(sheet.iter_rows(values_only=True))
        listed = [row[2] for row in rows[1 : min(cap, total) + 1]]
        assert listed == [change["reference"] for change in every["items"][: min(cap, total)]]
        below = rows[min(cap, total) + 1 :]
        page = client.get(f"/api/v1/pack.html?{query}").text
        if shown is None:
            assert below == [], cap
            assert "left out" not in page, cap
            assert f"Changes<strong>{total}</strong>" in page
        else:
            ((blank,), (line,)) = ([c for c in row if c is not None] or [None] for row in below)
            assert blank is None and line.startswith(shown), below
            assert sheet.cell(row=len(rows), column=1).font.b
            assert f'<p class="left-out">{shown}' in page
            assert f"Changes<strong>{total - 1}+</strong>" in page


def test_the_openapi_document_names_the_media_types() -> None:
    from app.main import create_app

    paths = create_app().openapi()["paths"]
    workbook = paths["/api/v1/pack.xlsx"]["get"]["responses"]
    assert list(workbook["200"]["content"]) == [XLSX]
    assert "Content-Disposition" in workbook["200"]["headers"]
    page = paths["/api/v1/pack.html"]["get"]["responses"]
    assert list(page["200"]["content"]) == ["text/html"]
    assert "Content-Security-Policy" in page["200"]["headers"]
    for responses in (workbook, page):
        assert {"401", "422", "500", "503"} <= responses.keys()
    names = {p["name"] for p in paths["/api/v1/pack.xlsx"]["get"]["parameters"]}
    assert {"since", "as_of", "report_id", "force", "programme", "status", "rag"} <= names


# --- afi pack --------------------------------------------------------------------------------


def test_afi_pack_writes_the_workbook_and_the_page(
    client: TestClient, quarter: Quarter, tmp_path: Path
) -> None:
    workbook = tmp_path / "pack.xlsx"
    result = runner.invoke(
        cli, ["pack", "--output", str(workbook), "--report-id", str(quarter.report_id)]
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(workbook)
    listed = _listed(client, f"report_id={quarter.report_id}")
    assert [row["Reference"] for row in _sheet_rows(book, "Items")] == [
        action["reference"] for action in listed
    ]
    page = tmp_path / "pack.out"
    since = (clock.today() - timedelta(days=200)).isoformat()
    result = runner.invoke(
        cli, ["pack", "--format", "html", "-o", str(page), "--rag", "red", "--since", since]
    )
    assert result.exit_code == 0, result.output
    text = page.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg ") == 3
    assert "Items (1)" in text and "RAG: Red" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--output", "{dir}/pack.txt"], "Cannot tell the format"),
        (["--output", "{dir}/pack.xlsx", "--since", "2999-01-01"], "since"),
        (["--output", "{dir}/pack.xlsx", "--as-of", "yesterday"], "--as-of"),
        (["--output", "{dir}/missing/pack.xlsx"], "No folder"),
    ],
)
def test_afi_pack_refuses_bad_options_and_writes_nothing(
    seeded: int, tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = runner.invoke(cli, ["pack", *(a.format(dir=tmp_path) for a in arguments)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_afi_pack_refuses_a_selection_larger_than_a_pack_holds(
    seeded: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "max_pack_items", 2)
    result = runner.invoke(cli, ["pack", "--output", str(tmp_path / "pack.xlsx")])
    assert result.exit_code == 2
    assert "AFI_MAX_PACK_ITEMS" in result.stderr
    assert list(tmp_path.iterdir()) == []
