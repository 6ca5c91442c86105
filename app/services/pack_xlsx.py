"""The committee pack as an Excel workbook (XlsxWriter): sheets `Items`, `Changes`, `Figures`.

A pure function of the pack (app.schemas.pack). Every sheet has one header row, frozen, with
filters on it; dates and moments are Excel dates (moments in the pack's timezone), numbers are
numbers. Text people wrote is written as text, never read as a formula or a link (XlsxWriter's
`write()` would take `=…` for a formula).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from app.schemas.changes import ChangeKind, ChangeOut
from app.schemas.pack import (
    AGEING_BANDS,
    CHANGE_LABELS,
    NOT_ASSESSED,
    PERIOD_HEADINGS,
    PRIORITY_LABELS,
    RAG_LABELS,
    STATUS_LABELS,
    Pack,
    PackItem,
    label,
)

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ("Items", "Changes", "Figures")
# The most characters an Excel cell holds.
CELL_MAX_CHARS = 32_767
_DAY_FORMAT = "yyyy-mm-dd"
_MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
_RAG_FILLS = {"Red": "#F4B6B0", "Amber": "#FFE08A", "Green": "#B9E4C0"}


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a sheet: its header, width, the kind of cell it holds and its value."""

    header: str
    width: float
    kind: str  # text, wrapped, day, moment, integer, percent, flag
    value: Callable[[Any], Any]


def _item_columns(pack: Pack) -> tuple[Column, ...]:
    def moment(value: datetime | None) -> datetime | None:
        return None if value is None else pack.local(value)

    def percent(item: PackItem) -> float | None:
        # A share, shown as a percentage: 45 is 0.45 in a cell formatted 0%.
        return None if item.percent_complete is None else item.percent_complete / 100

    return (
        Column("Reference", 28, "text", lambda item: item.reference),
        Column("Title", 50, "wrapped", lambda item: item.title),
        Column("Report", 40, "wrapped", lambda item: item.report),
        Column("Owner", 24, "text", lambda item: item.owner),
        Column("Status", 17, "text", lambda item: label(STATUS_LABELS, item.status)),
        Column("Priority", 10, "text", lambda item: label(PRIORITY_LABELS, item.priority)),
        Column("Original due date", 12, "day", lambda item: item.original_due_date),
        Column("Due date", 12, "day", lambda item: item.due_date),
        Column("Due date revisions", 10, "integer", lambda item: item.due_date_revisions),
        Column("RAG", 13, "text", lambda item: label(RAG_LABELS, item.rag, NOT_ASSESSED)),
        Column("% complete", 10, "percent", percent),
        Column("Last progress", 17, "moment", lambda item: moment(item.last_progress_at)),
        Column("Progress note", 60, "wrapped", lambda item: item.progress_note),
        Column("Days overdue", 9, "integer", lambda item: item.days_overdue),
        Column("Stale", 8, "flag", lambda item: item.stale),
        Column("Proposed for closure", 10, "flag", lambda item: item.proposed_for_closure),
    )


def _change_value(change: ChangeOut, value: str | None) -> Any:
    """A change's before or after value: a due date (revised, or passed) as a date, a status
    or RAG by its label."""
    if value is None:
        return None
    if change.kind in (ChangeKind.DUE_DATE_REVISED, ChangeKind.NEWLY_OVERDUE):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return STATUS_LABELS.get(value) or RAG_LABELS.get(value) or value


def _change_columns(pack: Pack) -> tuple[Column, ...]:
    return (
        Column("When", 17, "moment", lambda change: pack.local(change.at)),
        Column("Change", 20, "text", lambda change: label(CHANGE_LABELS, change.kind)),
        Column("Reference", 28, "text", lambda change: change.reference),
        Column("Title", 50, "wrapped", lambda change: change.title),
        Column("From", 17, "mixed", lambda change: _change_value(change, change.from_)),
        Column("To", 17, "mixed", lambda change: _change_value(change, change.to)),
        Column("By", 20, "text", lambda change: change.actor),
        Column("Reason", 50, "wrapped", lambda change: change.reason),
    )


class _Cells:
    """Writes values into cells by kind, with the workbook's formats."""

    def __init__(self, workbook: Workbook) -> None:
        top = {"valign": "top"}
        self.formats: dict[str, Format] = {
            "header": workbook.add_format({"bold": True, "bg_color": "#DDE3EA", "text_wrap": True,
                                           "valign": "top", "bottom": 1}),
            "text": workbook.add_format(top),
            "wrapped": workbook.add_format({**top, "text_wrap": True}),
            "day": workbook.add_format({**top, "num_format": _DAY_FORMAT}),
            "moment": workbook.add_format({**top, "num_format": _MOMENT_FORMAT}),
            "integer": workbook.add_format({**top, "num_format": "0"}),
            "percent": workbook.add_format({**top, "num_format": "0%"}),
            "flag": workbook.add_format(top),
            "note": workbook.add_format({"bold": True}),
        }  # fmt: skip
        self.rag_fills = {
            name: workbook.add_format({"bg_color": colour}) for name, colour in _RAG_FILLS.items()
        }

    def header(self, sheet: Worksheet, row: int, col: int, text: str) -> None:
        sheet.write_string(row, col, text, self.formats["header"])

    def write(self, sheet: Worksheet, row: int, col: int, kind: str, value: Any) -> None:
        if value is None:
            sheet.write_blank(row, col, None, self.formats["text"])
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value, self.formats["flag"])
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, self.formats[kind if kind != "mixed" else "text"])
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value, self.formats["moment"])
        elif isinstance(value, date):
            sheet.write_datetime(row, col, value, self.formats["day"])
        else:
            text = str(value)[:CELL_MAX_CHARS]
            sheet.write_string(
                row, col, text, self.formats["wrapped" if kind == "wrapped" else "text"]
            )


def _table_sheet(
    sheet: Worksheet, cells: _Cells, columns: Sequence[Column], rows: Sequence[Any]
) -> None:
    """A sheet of one table: header row (frozen, filtered), then a row per item."""
    for col, column in enumerate(columns):
        sheet.set_column(col, col, column.width)
        cells.header(sheet, 0, col, column.header)
    for row, item in enumerate(rows, start=1):
        for col, column in enumerate(columns):
            cells.write(sheet, row, col, column.kind, column.value(item))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    sheet.repeat_rows(0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)


def _table(
    sheet: Worksheet,
    cells: _Cells,
    *,
    name: str,
    first_col: int,
    headers: Sequence[tuple[str, float]],
    rows: Sequence[Sequence[Any]],
    kinds: Sequence[str],
) -> int:
    """An Excel table (its own filter buttons) from row 0 at `first_col`; returns the column
    after it and the gap that follows."""
    last_col = first_col + len(headers) - 1
    # A table needs a data row: an empty one stands for none.
    sheet.add_table(
        0,
        first_col,
        max(len(rows), 1),
        last_col,
        {"name": name, "style": "Table Style Light 9",
         "columns": [{"header": header} for header, _ in headers]},
    )  # fmt: skip
    for offset, (header, width) in enumerate(headers):
        sheet.set_column(first_col + offset, first_col + offset, width)
        cells.header(sheet, 0, first_col + offset, header)
    for row, values in enumerate(rows, start=1):
        for offset, (kind, value) in enumerate(zip(kinds, values, strict=True)):
            cells.write(sheet, row, first_col + offset, kind, value)
    return last_col + 2


def _figures_sheet(sheet: Worksheet, cells: _Cells, pack: Pack) -> None:
    """Three tables side by side, their headers on the frozen first row: the trend, the ageing
    of overdue actions at the last period end, and RAG counts per report."""
    trend = pack.figures.trend
    col = _table(
        sheet,
        cells,
        name="Trend",
        first_col=0,
        headers=[(PERIOD_HEADINGS[trend.interval], 13), ("Open", 8), ("Overdue", 9),
                 ("Completed", 11), ("Opened", 9)],
        rows=[(p.period_end, p.open, p.overdue, p.completed, p.opened) for p in trend.items],
        kinds=("day", "integer", "integer", "integer", "integer"),
    )  # fmt: skip
    as_of = trend.ageing.as_of.isoformat()
    col = _table(
        sheet,
        cells,
        name="Ageing",
        first_col=col,
        headers=[(f"Overdue on {as_of}", 22), ("Actions", 9)],
        rows=list(zip(AGEING_BANDS, pack.figures.ageing_counts(), strict=True)),
        kinds=("text", "integer"),
    )
    _table(
        sheet,
        cells,
        name="RagByReport",
        first_col=col,
        headers=[("Report", 50), ("Red", 7), ("Amber", 8), ("Green", 8), (NOT_ASSESSED, 13),
                 ("Total", 8)],
        rows=[(r.report, r.red, r.amber, r.green, r.not_assessed, r.total)
              for r in pack.figures.rag_by_report],
        kinds=("wrapped", "integer", "integer", "integer", "integer", "integer"),
    )  # fmt: skip
    sheet.freeze_panes(1, 0)
    sheet.set_landscape()


def render_xlsx(pack: Pack) -> bytes:
    """The pack as an .xlsx workbook."""
    buffer = io.BytesIO()
    workbook = Workbook(
        buffer,
        {
            "in_memory": True,
            # Belt and braces: cells are written by kind, never guessed from text.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    scope = "; ".join(f"{what}: {value}" for what, value in pack.scope) or "all actions"
    workbook.set_properties(
        {
            "title": f"{pack.title} ({pack.as_of.isoformat()})",
            "subject": scope[:255],
            "created": pack.generated_at.astimezone(pack.tz).replace(tzinfo=None),
        }
    )
    cells = _Cells(workbook)
    items, changes, figures = (workbook.add_worksheet(name) for name in SHEETS)
    item_columns = _item_columns(pack)
    _table_sheet(items, cells, item_columns, pack.items)
    rag_col = [column.header for column in item_columns].index("RAG")
    for name, fill in cells.rag_fills.items():
        items.conditional_format(
            1, rag_col, max(len(pack.items), 1), rag_col,
            {"type": "cell", "criteria": "==", "value": f'"{name}"', "format": fill},
        )  # fmt: skip
    _table_sheet(changes, cells, _change_columns(pack), pack.changes.items)
    left_out = pack.changes_left_out()
    if left_out is not None:
        # Below the table, past a blank row, so that it is not one of the changes.
        changes.write_string(len(pack.changes.items) + 2, 0, left_out, cells.formats["note"])
    _figures_sheet(figures, cells, pack)
    workbook.close()
    return buffer.getvalue()
