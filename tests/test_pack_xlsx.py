"""The committee pack's workbook, from packs built by hand, read back with openpyxl."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from app.services.pack_xlsx import CELL_MAX_CHARS, render_xlsx
from tests.pack_sample import FORMULA, HOSTILE, LONDON, empty_pack, item, sample_pack

ITEM_HEADERS = [
    "Reference", "Title", "Report", "Owner", "Status", "Priority", "Original due date",
    "Due date", "Due date revisions", "RAG", "% complete", "Last progress", "Progress note",
    "Days overdue", "Stale", "Proposed for closure",
]  # fmt: skip
CHANGE_HEADERS = ["When", "Change", "Reference", "Title", "From", "To", "By", "Reason"]


def _workbook(pack: object) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(render_xlsx(pack)))


def _rows(sheet: Worksheet) -> list[dict[str, object]]:
    header, *rows = sheet.iter_rows()
    names = [cell.value for cell in header]
    return [dict(zip(names, (cell for cell in row), strict=True)) for row in rows]


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LONDON).replace(tzinfo=None)


# --- the workbook ----------------------------------------------------------------------------


def test_the_workbook_has_the_documented_sheets_each_with_a_frozen_filtered_header() -> None:
    pack = sample_pack()
    book = _workbook(pack)
    assert book.sheetnames == ["Items", "Changes", "Figures"]
    items, changes, figures = (book[name] for name in book.sheetnames)
    assert [cell.value for cell in items[1]] == ITEM_HEADERS
    assert [cell.value for cell in changes[1]] == CHANGE_HEADERS
    for sheet in (items, changes, figures):
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1] if cell.value is not None)
    assert items.auto_filter.ref == f"A1:P{len(pack.items) + 1}"
    assert changes.auto_filter.ref == f"A1:H{len(pack.changes.items) + 1}"
    assert items.column_dimensions["B"].width > items.column_dimensions["F"].width
    assert items.max_row == len(pack.items) + 1
    assert changes.max_row == len(pack.changes.items) + 1


def test_item_cells_are_typed_values_dates_as_excel_dates() -> None:
    pack = sample_pack()
    first, second = _rows(_workbook(pack)["Items"])
    source = pack.items[0]
    assert first["Reference"].value == source.reference
    for header, day in (
        ("Original due date", source.original_due_date),
        ("Due date", source.due_date),
    ):
        cell = first[header]
        assert cell.is_date and cell.number_format == "yyyy-mm-dd"
        assert cell.value == datetime(day.year, day.month, day.day)
    last_progress = first["Last progress"]
    assert last_progress.is_date
    # Shown in the pack's timezone: 08:30 UTC in April is 09:30 in London.
    assert source.last_progress_at is not None
    assert last_progress.value == _local(source.last_progress_at)
    assert last_progress.value.hour == 9
    percent = first["% complete"]
    assert percent.value == pytest.approx(0.45) and percent.number_format == "0%"
    assert first["Due date revisions"].value == 1
    assert first["Days overdue"].value == source.days_overdue
    assert first["Status"].value == "In progress"
    assert first["RAG"].value == "Amber"
    assert first["Progress note"].value == source.progress_note
    assert first["Stale"].value is False and second["Stale"].value is True
    assert first["Proposed for closure"].value is False
    assert second["Proposed for closure"].value is True
    assert second["RAG"].value == "Not assessed"
    for header in ("Original due date", "Due date", "% complete", "Last progress"):
        assert second[header].value is None


def test_text_from_users_is_text_never_a_formula_or_a_link() -> None:
    pack = sample_pack()
    _first, second = _rows(_workbook(pack)["Items"])
    for header, written in (("Owner", FORMULA), ("Title", HOSTILE), ("Report", HOSTILE)):
        cell = second[header]
        assert cell.data_type == "s"
        assert cell.value == written
        assert cell.hyperlink is None


def test_a_note_longer_than_a_cell_holds_is_cut_to_what_excel_takes() -> None:
    note = "x" * (CELL_MAX_CHARS + 10)
    pack = sample_pack(items=(item(progress_note=note),))
    (row,) = _rows(_workbook(pack)["Items"])
    assert row["Progress note"].value == note[:CELL_MAX_CHARS]


def test_changes_show_labels_local_times_and_due_dates_as_dates() -> None:
    pack = sample_pack()
    rows = _rows(_workbook(pack)["Changes"])
    assert len(rows) == len(pack.changes.items)
    moved, revised, rag, overdue = rows
    source = pack.changes.items[0]
    assert moved["When"].value == _local(source.at)
    assert moved["When"].is_date
    assert (moved["Change"].value, moved["From"].value, moved["To"].value) == (
        "Status changed", "Open", "In progress",
    )  # fmt: skip
    assert revised["From"].is_date and revised["To"].is_date
    assert revised["To"].value == datetime(2025, 4, 30)
    assert revised["Reason"].value == pack.changes.items[1].reason
    assert (rag["From"].value, rag["To"].value, rag["Title"].value) == ("Green", "Red", HOSTILE)
    assert overdue["Title"].data_type == "s" and overdue["Title"].value == FORMULA
    assert overdue["From"].value is None and overdue["By"].value is None
    # The due date that passed is a date too, like a revision's.
    assert overdue["To"].is_date and overdue["To"].value == datetime(2025, 4, 1)


def _table_rows(sheet: Worksheet, name: str) -> list[list[object]]:
    table = sheet.tables[name]
    return [[cell.value for cell in row] for row in sheet[table.ref]]


def test_figures_hold_the_trend_the_ageing_and_rag_per_report_as_tables() -> None:
    pack = sample_pack()
    figures = _workbook(pack)["Figures"]
    assert set(figures.tables) == {"Trend", "Ageing", "RagByReport"}
    header, *trend_rows = _table_rows(figures, "Trend")
    assert header == ["Month ending", "Open", "Overdue", "Completed", "Opened"]
    trend = pack.figures.trend
    assert trend_rows == [
        [datetime(p.period_end.year, p.period_end.month, p.period_end.day), p.open, p.overdue,
         p.completed, p.opened]
        for p in trend.items
    ]  # fmt: skip
    header, *ageing_rows = _table_rows(figures, "Ageing")
    assert header == [f"Overdue on {trend.ageing.as_of.isoformat()}", "Actions"]
    assert [count for _, count in ageing_rows] == list(pack.figures.ageing_counts())
    header, *rag_rows = _table_rows(figures, "RagByReport")
    assert header == ["Report", "Red", "Amber", "Green", "Not assessed", "Total"]
    assert rag_rows == [
        [r.report, r.red, r.amber, r.green, r.not_assessed, r.total]
        for r in pack.figures.rag_by_report
    ]


def test_an_empty_pack_is_a_workbook_of_headers() -> None:
    book = _workbook(empty_pack())
    assert book.sheetnames == ["Items", "Changes", "Figures"]
    assert [cell.value for cell in book["Items"][1]] == ITEM_HEADERS
    assert book["Items"].max_row == 1
    header, *rows = _table_rows(book["Figures"], "Trend")
    assert header[0] == "Quarter ending" and rows == [[None] * 5]
