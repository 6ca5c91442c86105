"""Issue 15's "done when": a scripted quarter, driven through the API with the clock moved day by
day, gives a committee pack (and /stats/trend, /changes) whose figures match a recount from the
raw history (tests.quarter_recount: each action's `action_event` rows replayed in the test, not
by the service's own state code).

Times are UTC; the clock, set to each step's moment, moves on by a millisecond at every reading
as a real one does (a frozen clock hides rows and events stamped by different readings). The
quarter crosses the start of British Summer Time (29 March): the last sign-off, at 23:30 UTC on
31 March, is on 1 April in Europe/London, so it counts in April.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from app import clock
from app.cli import cli
from app.schemas.pack import AGEING_BANDS, CHANGE_LABELS, NOT_ASSESSED, RAG_LABELS, STATUS_LABELS
from app.services.pack import previous_quarter_start, trend_start
from tests import test_pack_browser
from tests.helpers import add_note, move
from tests.quarter_recount import LONDON, History, Stood, month_ends
from tests.query_data import fetch_all

PACK_DAY = date(2026, 4, 7)
browser = test_pack_browser.browser  # headless Chromium, one per module
TREND_KEYS = ("open", "overdue", "completed", "opened")
AGEING_KEYS = ("days_0_30", "days_31_90", "days_91_180", "days_over_180")
EDITED = (
    "completed to a consistently good standard.",
    "completed to a consistently high standard.",
)
WITHDRAWN = "- The constabulary should ensure that the risks posed by registered sex offenders"
REPLACED = "- The constabulary should ensure that checks are routinely conducted"
NEW_TEXT = "- The constabulary should publish a digital forensics plan within six months.\n"

# (when, UTC), who, what, action ("C3": Cumbria's AFI-03, "D1": Durham's AFI-01), with what.
# "progress" and "revise" give FIELDS' values; "due" gives several actions their first due date.
# C1 assigned, revised, blocked, reassigned, signed off; C2 proposed, refused, signed off,
# reopened; C3 edited by the re-import; C4 revised out of and back into overdue; C5, C9 overdue;
# C6 revised, reassigned and assessed in one request; C7 withdrawn by the re-import; C8
# superseded by its replacement C18; D1 signed off at 00:30 BST on 1 April.
STEPS: list[tuple[str, str, str, str, Any]] = [
    ("2026-01-05 09:00", "admin", "import", "", "cumbria"),
    ("2026-01-06 10:00", "editor", "patch", "C1", {"owner_id": "Jones", "due_date": "2026-02-01"}),
    ("2026-01-06 10:01", "editor", "patch", "C2", {"owner_id": "Patel", "due_date": "2026-03-15"}),
    ("2026-01-06 10:02", "editor", "due", "", {"C3": "2025-09-01", "C4": "2025-12-01",
        "C5": "2026-01-20", "C7": "2025-10-01", "C8": "2026-02-10", "C9": "2025-12-15"}),
    ("2026-01-06 10:05", "editor", "patch", "C6", {"owner_id": "Jones", "due_date": "2026-04-30"}),
    ("2026-01-10 10:00", "editor", "move", "C1", ("in_progress", None)),
    ("2026-01-10 10:01", "editor", "progress", "C1", ("amber", 20, "Started")),
    ("2026-01-10 10:02", "editor", "move", "C2", ("in_progress", None)),
    ("2026-01-10 10:03", "editor", "progress", "C2", ("green", 50, "On plan")),
    ("2026-01-20 10:00", "editor", "revise", "C1", ("2026-01-25", "The board meets earlier")),
    ("2026-01-20 10:01", "editor", "progress", "C1", ("red", 30, "Behind")),
    ("2026-01-20 10:02", "editor", "propose", "C2", None),
    ("2026-02-02 09:00", "admin", "import", "", "durham"),
    ("2026-02-02 10:00", "editor", "patch", "D1", {"owner_id": "Patel", "due_date": "2026-02-15"}),
    ("2026-02-02 10:01", "editor", "progress", "D2", ("green", 10, "Planned")),
    ("2026-02-02 10:02", "editor", "patch", "D4", {"due_date": "2026-04-01"}),
    ("2026-02-03 10:00", "editor", "move", "C1", ("blocked", "Waiting for the vendor")),
    ("2026-02-03 10:01", "approver", "move", "C2", ("in_progress", "The evidence is thin")),
    ("2026-02-10 10:00", "editor", "patch", "C1", {"owner_id": "Patel"}),
    ("2026-02-10 10:01", "editor", "move", "C1", ("in_progress", None)),
    ("2026-02-10 10:02", "editor", "propose", "C1", None),
    ("2026-02-10 10:03", "editor", "revise", "C4", ("2026-03-01", "Funding agreed")),
    ("2026-02-15 10:00", "approver", "move", "C1", ("completed", "Seen")),
    ("2026-02-20 09:00", "admin", "import", "", "cumbria_revised"),
    ("2026-02-23 10:00", "editor", "supersede", "C8", "C18"),
    ("2026-02-23 10:01", "editor", "patch", "C18", {"owner_id": "Jones", "due_date": "2026-06-30"}),
    ("2026-03-02 10:00", "editor", "propose", "C2", None),
    ("2026-03-02 10:01", "editor", "move", "D1", ("in_progress", None)),
    ("2026-03-02 10:02", "editor", "progress", "D1", ("red", 5, "Not started in earnest")),
    ("2026-03-03 10:00", "approver", "move", "C2", ("completed", "Evidence seen")),
    ("2026-03-10 10:00", "editor", "patch", "C6", {"due_date": "2026-03-20", "owner_id": "Patel",
        "due_date_reason": "Brought forward", "rag": "amber", "progress_note": "Tight"}),
    ("2026-03-20 10:00", "editor", "move", "C2", ("in_progress", "Audit found a gap")),
    ("2026-03-25 10:00", "editor", "propose", "D1", None),
    ("2026-03-31 23:30", "approver", "move", "D1", ("completed", "Signed at midnight")),
    ("2026-04-02 10:00", "editor", "progress", "D3", ("amber", 40, "Slipping")),
]  # fmt: skip


# The fields of a "progress" and a "revise" step.
FIELDS = {
    "progress": ("rag", "percent_complete", "progress_note"),
    "revise": ("due_date", "due_date_reason"),
}


def _report_texts(seed: str) -> dict[str, str]:
    lines = seed.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(WITHDRAWN)]
    revised = "".join(NEW_TEXT if line.startswith(REPLACED) else line for line in kept)
    assert len(kept) == len(lines) - 1 and NEW_TEXT in revised and EDITED[0] in revised
    durham = seed.replace("Cumbria", "Durham")
    return {"cumbria": seed, "durham": durham, "cumbria_revised": revised.replace(*EDITED)}


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def play(clients: dict[str, Any], set_now: Callable[[datetime], None], seed: str) -> None:
    """Every day from the first step to the pack's day, each step at its moment."""
    texts = _report_texts(seed)
    owners: dict[str, int] = {}
    actions: dict[str, dict[str, Any]] = {}
    day = date.fromisoformat(STEPS[0][0][:10])
    while day <= PACK_DAY:
        set_now(datetime(day.year, day.month, day.day, 6, tzinfo=UTC))
        for when, who, what, key, arg in [s for s in STEPS if s[0].startswith(day.isoformat())]:
            set_now(datetime.fromisoformat(when).replace(tzinfo=UTC))
            client = clients[who]
            action_id = actions[key]["id"] if key else 0
            if what == "import":
                headers = {"Content-Type": "text/plain"}
                _ok(client.post("/api/v1/reports", content=texts[arg].encode(), headers=headers))
                for item in _ok(client.get("/api/v1/actions?limit=500"))["items"]:
                    number = int(item["reference"].rsplit("-", 1)[1])
                    actions[f"{item['reference'][0]}{number}"] = item
            elif what in ("patch", *FIELDS):
                fields = dict(zip(FIELDS[what], arg, strict=True)) if what in FIELDS else arg
                owner = fields.get("owner_id")
                if owner is not None and owner not in owners:
                    owners[owner] = _ok(client.post("/api/v1/owners", json={"name": owner}))["id"]
                fields = {k: owners[v] if k == "owner_id" else v for k, v in fields.items()}
                _ok(client.patch(f"/api/v1/actions/{action_id}", json=fields))
            elif what == "due":  # a request each
                for other, due in arg.items():
                    path = f"/api/v1/actions/{actions[other]['id']}"
                    _ok(client.patch(path, json={"due_date": due}))
            elif what == "propose":
                add_note(client, action_id)
                _ok(move(client, action_id, "pending_sign_off"))
            elif what == "supersede":
                by = {"superseded_by_finding_id": actions[arg]["finding_id"]}
                _ok(move(client, action_id, "superseded", "Replaced in the re-import", **by))
            else:
                _ok(move(client, action_id, *arg))
        day += timedelta(days=1)


# --- the tests -------------------------------------------------------------------------------


@pytest.fixture
def history(client: Any, client_as: Any, seed_text: str, monkeypatch: Any) -> History:
    def set_now(moment: datetime) -> None:
        readings = itertools.count(1)

        def later() -> datetime:
            return moment + timedelta(milliseconds=next(readings))

        monkeypatch.setattr(clock, "utcnow", later)

    editor, approver = client_as("editor", user="ed"), client_as("approver")
    play({"admin": client, "editor": editor, "approver": approver}, set_now, seed_text)
    from app.db import SessionLocal

    with SessionLocal() as session:
        return History(session, date(2025, 1, 1), PACK_DAY)


def _get(client: Any, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response


def _workbook(client: Any, query: str = "") -> Any:
    response = _get(client, f"/api/v1/pack.xlsx?{query}" if query else "/api/v1/pack.xlsx")
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _table(book: Any, name: str) -> list[tuple[Any, ...]]:
    figures = book["Figures"]
    return [tuple(cell.value for cell in row) for row in figures[figures.tables[name].ref]]


def _as_in_sheet(change: dict[str, Any]) -> tuple[Any, ...]:
    """A change as the Changes sheet shows it: labels, local times to the minute, dates."""

    def shown(value: str | None) -> Any:
        if change["kind"] in ("due_date_revised", "newly_overdue") and value is not None:
            return datetime.fromisoformat(value)
        return {**STATUS_LABELS, **RAG_LABELS}.get(value or "", value)

    when = change["at"].astimezone(LONDON).replace(tzinfo=None, second=0, microsecond=0)
    return (when, CHANGE_LABELS[change["kind"]], change["reference"], shown(change["from"]),
            shown(change["to"]), change["actor"], change["reason"])  # fmt: skip


def test_the_pack_and_the_feeds_match_a_recount_of_the_history(
    client: Any, history: History
) -> None:
    book = _workbook(client)
    # Figures: the trend over the twelve months to the pack's day, its ageing, RAG per report.
    expected = history.trend(month_ends(date(2025, 5, 1), PACK_DAY), date(2025, 5, 1))
    assert [(row[0].date(), *row[1:]) for row in _table(book, "Trend")[1:]] == expected
    # The recount itself, checked by hand against STEPS: on 31 January C1, C3, C4, C5, C7 and C9
    # are overdue; on 28 February C3, C5, C9 and D1 (C4 revised, C7 withdrawn, C8 superseded);
    # on 31 March C2 (reopened), C3, C4, C5, C6 and C9 (D1 waits for sign-off); on 7 April D4
    # too (due 1 April). C1 completes in February, C2 in March, D1 in April (BST).
    assert expected[-4:] == [
        (date(2026, 1, 31), 17, 6, 0, 17), (date(2026, 2, 28), 33, 4, 1, 18),
        (date(2026, 3, 31), 33, 6, 1, 0), (PACK_DAY, 32, 7, 1, 0),
    ]  # fmt: skip
    assert history.ageing(PACK_DAY) == [3, 2, 1, 1]  # C2 C6 D4; C4 C5; C9; C3
    ageing = list(zip(AGEING_BANDS, history.ageing(PACK_DAY), strict=True))
    assert _table(book, "Ageing")[1:] == ageing
    titles = {r["id"]: r["title"] for r in _get(client, "/api/v1/reports").json()["items"]}
    rag = {titles[report]: counts for report, counts in history.rag_by_report(PACK_DAY).items()}
    assert {row[0]: row[1:] for row in _table(book, "RagByReport")[1:]} == rag

    # Changes: since the start of the previous quarter (the default) to the pack's day.
    recounted = history.changes(date(2026, 1, 1), PACK_DAY)
    sheet = list(book["Changes"].iter_rows(min_row=2, values_only=True))
    by_minute = [(row[0].replace(second=0, microsecond=0), *row[1:3], *row[4:]) for row in sheet]
    assert by_minute == [_as_in_sheet(change) for change in recounted]
    assert {c["kind"] for c in recounted} == set(CHANGE_LABELS) and len(recounted) > 30

    # The JSON: other ranges and intervals, one report, two windows.
    durham = next(report for report, title in titles.items() if "Durham" in title)
    january, february = date(2026, 1, 1), date(2026, 2, 1)
    for query, first, ends, report in [
        ("interval=month&from=2026-01-01", january, month_ends(january, PACK_DAY), None),
        ("interval=quarter&from=2025-10-01&to=2026-03-31", date(2025, 10, 1),
         [date(2025, 12, 31), date(2026, 3, 31)], None),
        (f"from=2026-02-01&report_id={durham}", february, month_ends(february, PACK_DAY), durham),
    ]:  # fmt: skip
        body = _get(client, f"/api/v1/stats/trend?{query}").json()
        answered = [
            (date.fromisoformat(i["period_end"]), *(i[k] for k in TREND_KEYS))
            for i in body["items"]
        ]
        assert answered == history.trend(ends, first, report), query
        ageing = [body["ageing"][band] for band in AGEING_KEYS]
        assert ageing == history.ageing(ends[-1], report), query
    for since, until in [(date(2026, 1, 1), PACK_DAY), (date(2026, 2, 21), date(2026, 3, 31))]:
        url = f"/api/v1/changes?since={since}&until={until}"
        items = _get(client, url).json()["items"]
        for item in items:
            del item["title"]
            item["at"] = datetime.fromisoformat(item["at"])
        assert items == history.changes(since, until), url


def test_a_pack_for_an_earlier_day_is_the_history_at_its_end(
    client: Any, history: History, tmp_path: Path
) -> None:
    """as_of=31 January (C1 in progress and red, due 25 January, Jones's; C2 proposed) and 31
    March (D1's sign-off at 23:30 UTC is on 1 April in London: pending on the pack's day): items,
    figures and changes are the recount's for that day, not today's."""
    owners = {o["id"]: o["name"] for o in _get(client, "/api/v1/owners").json()["items"]}
    titles = {r["id"]: r["title"] for r in _get(client, "/api/v1/reports").json()["items"]}
    pages: dict[date, dict[str, Any]] = {}
    for day in (date(2026, 1, 31), date(2026, 3, 31)):
        book = _workbook(client, f"as_of={day}")
        header, *rows = book["Items"].iter_rows(values_only=True)
        items = {row[0]: dict(zip(header, row, strict=True)) for row in rows}

        def shown(stood: Stood, day: date = day) -> tuple[Any, ...]:
            due = stood.due_date
            return (
                STATUS_LABELS[stood.status],
                owners.get(stood.owner_id or 0),
                due and datetime(due.year, due.month, due.day),
                RAG_LABELS.get(stood.rag or "", NOT_ASSESSED),
                (day - due).days if due is not None and stood.overdue_on(day) else 0,
                stood.progress_note,
                stood.revisions,
            )

        columns = ("Status", "Owner", "Due date", "RAG", "Days overdue", "Progress note")
        assert {
            reference: (*(item[c] for c in columns), item["Due date revisions"])
            for reference, item in items.items()
        } == {history.actions[a].reference: shown(s) for a, s in history.days[day].items()}, day
        first = trend_start(day)
        trend = history.trend(month_ends(first, day), first)
        assert [(row[0].date(), *row[1:]) for row in _table(book, "Trend")[1:]] == trend
        ageing = list(zip(AGEING_BANDS, history.ageing(day), strict=True))
        assert _table(book, "Ageing")[1:] == ageing
        rag = {titles[report]: counts for report, counts in history.rag_by_report(day).items()}
        assert {row[0]: row[1:] for row in _table(book, "RagByReport")[1:]} == rag
        recounted = history.changes(previous_quarter_start(day), day)
        sheet = list(book["Changes"].iter_rows(min_row=2, values_only=True))
        by_minute = [(r[0].replace(second=0, microsecond=0), *r[1:3], *r[4:]) for r in sheet]
        assert by_minute == [_as_in_sheet(change) for change in recounted], day
        page = _get(client, f"/api/v1/pack.html?as_of={day}").text
        assert f'<time datetime="{day.isoformat()}">' in page
        written = tmp_path / f"{day}.xlsx"
        result = CliRunner().invoke(cli, ["pack", "-o", str(written), "--as-of", str(day)])
        assert result.exit_code == 0, result.output
        header, *rows = openpyxl.load_workbook(written)["Items"].iter_rows(values_only=True)
        assert {row[0]: dict(zip(header, row, strict=True)) for row in rows} == items
        pages[day] = items[history.actions[min(history.actions)].reference]  # C1
    # C1 then, not as it is today (completed, Patel's; see STEPS).
    c1 = pages[date(2026, 1, 31)]
    then = (c1["Status"], c1["Owner"], c1["RAG"], c1["Due date revisions"], c1["Progress note"])
    assert then == ("In progress", "Jones", "Red", 1, "Behind")
    assert (pages[date(2026, 3, 31)]["Status"], pages[date(2026, 3, 31)]["Owner"]) == (
        "Completed",
        "Patel",
    )


def test_the_list_one_action_and_the_csv_of_an_earlier_day_show_its_notes_and_revisions(
    client: Any, history: History
) -> None:
    """The progress note and the count of revisions are not kept in the states: on a past day
    they are rebuilt from the history (app.services.past_progress), as for the pack. On 15
    January C1's note is "Started", unrevised (later "Behind", revised once); on 31 January C4
    and C6 are unrevised and C6 has no note (both revised later, C6 noted "Tight")."""
    today = {item["id"]: item for item in fetch_all(client, "/api/v1/actions?limit=7")}
    for day in (date(2026, 1, 15), date(2026, 1, 31), date(2026, 3, 31)):
        wanted = {a: (s.progress_note, s.revisions) for a, s in history.days[day].items()}
        assert any(wanted[a] != (i["progress_note"], i["due_date_revisions"]) for a, i in
                   today.items() if a in wanted), day  # fmt: skip
        # Pages of 7 (a page's notes are rebuilt together), by id and by days overdue.
        for sort in ("id", "-days_overdue"):
            listed = fetch_all(client, f"/api/v1/actions?as_of={day}&sort={sort}&limit=7")
            seen = {i["id"]: (i["progress_note"], i["due_date_revisions"]) for i in listed}
            assert seen == wanted, (day, sort)
        for action_id, (note, revisions) in wanted.items():
            one = _get(client, f"/api/v1/actions/{action_id}?as_of={day}").json()
            assert (day, one["progress_note"], one["due_date_revisions"]) == (day, note, revisions)
        for sort in ("id", "due_date"):
            body = _get(client, f"/api/v1/actions.csv?as_of={day}&sort={sort}").text
            rows = list(csv.DictReader(io.StringIO(body)))
            assert {int(r["id"]): r["progress_note"] or None for r in rows} == {
                a: note for a, (note, _) in wanted.items()
            }, (day, sort)
            # The rest of each record is the database's, as on any day.
            listed = {i["id"]: i for i in fetch_all(client, f"/api/v1/actions?as_of={day}")}
            assert all(
                (r["status"], r["due_date"] or None, r["owner_id"] or None, r["stale"])
                == (i["status"], i["due_date"], str(i["owner"]["id"]) if i["owner"] else None,
                    str(i["stale"]).lower())
                for r in rows for i in [listed[int(r["id"])]]
            ), (day, sort)  # fmt: skip


ITEM_COLUMNS = (
    "Reference", "Title", "Report", "Owner", "Status", "Priority", "Original due date", "Due date",
    "Due date revisions", "RAG", "% complete", "Last progress", "Progress note", "Days overdue",
    "Stale", "Proposed for closure",
)  # fmt: skip
RAG_COLUMNS = ("Report", "Red", "Amber", "Green", NOT_ASSESSED, "Total")
CHANGE_COLUMNS = ("When", "Change", "Reference", "Title", "From", "To", "By", "Reason")


def test_the_workbook_has_the_documented_sheets_and_columns(client: Any, history: History) -> None:
    """As README's "Committee pack" lists them."""
    book = _workbook(client)
    assert book.sheetnames == ["Items", "Changes", "Figures"]
    header, *rows = book["Items"].iter_rows(values_only=True)
    assert header == ITEM_COLUMNS
    # Each item's status, due date and RAG on the pack's day, as its history left them.
    items = [dict(zip(header, row, strict=True)) for row in rows]
    shown = {i["Reference"]: (i["Status"], i["Due date"], i["RAG"]) for i in items}
    assert shown == {
        history.actions[a].reference: (
            STATUS_LABELS[s.status],
            s.due_date and datetime(s.due_date.year, s.due_date.month, s.due_date.day),
            RAG_LABELS.get(s.rag or "", NOT_ASSESSED),
        )
        for a, s in history.days[PACK_DAY].items()
    }
    assert len(shown) == 35
    assert next(book["Changes"].iter_rows(values_only=True)) == CHANGE_COLUMNS
    assert sorted(book["Figures"].tables) == ["Ageing", "RagByReport", "Trend"]
    assert _table(book, "Trend")[0][1:] == ("Open", "Overdue", "Completed", "Opened")
    assert _table(book, "Ageing")[0][1] == "Actions"
    assert _table(book, "RagByReport")[0] == RAG_COLUMNS


def test_the_quarter_page_renders_its_charts_and_prints(
    client: Any, history: History, browser: Any
) -> None:
    """In headless Chromium (tests.test_pack_browser's, which checks the page in depth)."""
    opened = test_pack_browser.Opened(browser, _get(client, "/api/v1/pack.html").text)
    charts = opened.page.locator("svg[role=img]")
    assert charts.count() == 3
    assert all(charts.nth(i).locator("rect").count() > 0 for i in range(3))
    assert opened.page.pdf(prefer_css_page_size=True).startswith(b"%PDF-")
    assert opened.requests == [test_pack_browser.URL]
    assert opened.violations() == [] and opened.errors == []
    opened.context.close()
