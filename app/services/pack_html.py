"""The committee pack as one printable HTML page: summary, figures (charts drawn as inline SVG,
each with a table of its figures), items and what changed. A pure function of the pack.

Self-contained: its only style is the inline stylesheet below, it has no script, and it loads
nothing (no font, image or link to any other address); its own Content-Security-Policy says so,
so the page stays inert when saved and opened from a file. Printing is styled for A4 landscape,
each main section on a new page, table headers repeated and rows kept whole. Every text is
escaped: titles, notes and names come from users.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from html import escape

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
from app.services.pack_charts import ageing_chart, period_label, rag_chart, trend_chart

MEDIA_TYPE = "text/html; charset=utf-8"
# A progress note longer than this is cut on the page (the workbook has it whole).
NOTE_MAX_CHARS = 1500
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# (header, class, share of the width): the items' and the changes' tables are laid out at
# fixed widths, so that a long word a user wrote wraps within its column rather than widen
# the table off the printed page. The items' table folds the workbook's columns into fewer:
# the due date with the original and the revisions, RAG with % complete, and the flags.
_ITEM_COLUMNS = (
    ("Reference", "", 12), ("Title", "", 19), ("Report", "", 11), ("Owner", "", 8),
    ("Status", "", 7), ("Priority", "", 6), ("Due date", "", 10), ("RAG", "", 7),
    ("Last progress", "", 7), ("Days overdue", "num", 6), ("Flags", "", 7),
)  # fmt: skip
_CHANGE_COLUMNS = (
    ("When", "", 10), ("Change", "", 10), ("Reference", "", 12), ("Title", "", 24),
    ("From", "", 9), ("To", "", 9), ("By", "", 8), ("Reason", "", 18),
)  # fmt: skip


STYLESHEET = """
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 10.5pt/1.35 system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #222; margin: 1.5rem; }
h1 { font-size: 18pt; margin: 0 0 .5rem; }
h2 { font-size: 14pt; margin: 1.5rem 0 .6rem; border-bottom: 2px solid #1f4e79; }
dl.scope { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.scope dt { font-weight: 600; }
dl.scope dd { margin: 0; }
ul.tiles { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
ul.tiles li { border: 1px solid #c8c8c8; border-radius: 4px; padding: .35rem .7rem;
  min-width: 7.5rem; }
ul.tiles strong { display: block; font-size: 16pt; }
figure { margin: 0 0 1.4rem; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border: 1px solid #c8c8c8; padding: .2rem .35rem; text-align: left;
  vertical-align: top; }
table.fixed { table-layout: fixed; }
table.fixed td, table.fixed tbody th { overflow-wrap: anywhere; }
.sub, .flag { display: block; }
.sub { color: #555; font-size: 8.5pt; }
thead th { background: #dde3ea; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.figures { width: auto; margin-top: .5rem; }
td.note { color: #444; white-space: pre-line; }
.rag { padding: 0 .3rem; border-radius: 3px; font-weight: 600; white-space: nowrap; }
.rag-red { background: #f4b6b0; }
.rag-amber { background: #ffe08a; }
.rag-green { background: #b9e4c0; }
.late { color: #a02a1e; font-weight: 600; }
p.left-out { font-weight: 600; }
{widths}
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 9.5pt; }
  .new-page { break-before: page; }
  thead { display: table-header-group; }
  tbody, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
}
""".strip()
STYLESHEET = STYLESHEET.replace(
    "{widths}",
    "\n".join(
        f"col.w{share} {{ width: {share}%; }}"
        for share in sorted({share for *_, share in (*_ITEM_COLUMNS, *_CHANGE_COLUMNS)})
    ),
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
# The page's own policy: its stylesheet and nothing else. A response carrying the page sends
# it as a header as well (with `frame-ancestors`, which a <meta> policy cannot set).
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _day(value: date | None) -> str:
    if value is None:
        return ""
    shown = f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f'<time datetime="{value.isoformat()}">{shown}</time>'


def _moment(pack: Pack, value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(pack.tz)
    shown = f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H:%M}"
    return f'<time datetime="{_e(value.isoformat())}">{shown}</time>'


def _rag(value: str | None) -> str:
    if value is None:
        return _e(NOT_ASSESSED)
    return f'<span class="rag rag-{_e(value)}">{_e(label(RAG_LABELS, value))}</span>'


def _head(*cells: tuple[str, str]) -> str:
    """A table's header row from (text, class) pairs."""
    row = "".join(f'<th scope="col"{_class(cls)}>{_e(text)}</th>' for text, cls in cells)
    return f"<thead><tr>{row}</tr></thead>"


def _class(cls: str) -> str:
    return f' class="{cls}"' if cls else ""


def _table(caption: str, head: str, rows: Iterable[str], cls: str = "") -> str:
    return f"<table{_class(cls)}><caption>{_e(caption)}</caption>{head}{''.join(rows)}</table>"


def _summary(pack: Pack) -> str:
    items = pack.items
    rag = pack.figures.rag_by_report
    tiles = (
        ("Actions", len(items)),
        ("Overdue", sum(1 for item in items if item.days_overdue > 0)),
        ("Stale", sum(1 for item in items if item.stale)),
        ("Proposed for closure", sum(1 for item in items if item.proposed_for_closure)),
        ("Red", sum(report.red for report in rag)),
        ("Amber", sum(report.amber for report in rag)),
        ("Green", sum(report.green for report in rag)),
        # "5000+" when more were left out (Pack.changes_left_out).
        ("Changes", f"{len(pack.changes.items)}{'+' if pack.changes_left_out() else ''}"),
    )
    shown = "".join(f"<li>{_e(name)}<strong>{count}</strong></li>" for name, count in tiles)
    return (
        '<section aria-labelledby="summary-heading"><h2 id="summary-heading">Summary</h2>'
        f'<ul class="tiles">{shown}</ul></section>'
    )


def _figures(pack: Pack) -> str:
    figures = pack.figures
    trend = figures.trend
    trend_rows = (
        f'<tr><th scope="row">{_e(period_label(p.period_end, trend.interval))} '
        f'({_day(p.period_end)})</th><td class="num">{p.open}</td>'
        f'<td class="num">{p.overdue}</td><td class="num">{p.completed}</td>'
        f'<td class="num">{p.opened}</td></tr>'
        for p in trend.items
    )
    trend_table = _table(
        "Open and overdue actions per period",
        _head((PERIOD_HEADINGS[trend.interval], ""), ("Open", "num"), ("Overdue", "num"),
              ("Completed", "num"), ("Opened", "num")),
        trend_rows,
        "figures",
    )  # fmt: skip
    rag_rows = (
        f'<tr><th scope="row">{_e(r.report)}</th><td class="num">{r.red}</td>'
        f'<td class="num">{r.amber}</td><td class="num">{r.green}</td>'
        f'<td class="num">{r.not_assessed}</td><td class="num">{r.total}</td></tr>'
        for r in figures.rag_by_report
    )
    rag_table = _table(
        "RAG assessment per report",
        _head(("Report", ""), ("Red", "num"), ("Amber", "num"), ("Green", "num"),
              (NOT_ASSESSED, "num"), ("Total", "num")),
        rag_rows,
        "figures",
    )  # fmt: skip
    counts = figures.ageing_counts()
    ageing_rows = (
        f'<tr><th scope="row">{_e(band)}</th><td class="num">{count}</td></tr>'
        for band, count in zip(AGEING_BANDS, counts, strict=True)
    )
    as_of = trend.ageing.as_of
    ageing_table = _table(
        f"Overdue actions on {as_of.isoformat()} by days overdue",
        _head(("Days overdue", ""), ("Actions", "num")),
        ageing_rows,
        "figures",
    )
    return (
        '<section aria-labelledby="figures-heading"><h2 id="figures-heading">Figures</h2>'
        f"<figure><figcaption>Trend: open and overdue actions at the end of each "
        f"{_e(trend.interval.value)}</figcaption>{trend_chart(trend.items, trend.interval)}"
        f"{trend_table}</figure>"
        f"<figure><figcaption>RAG assessment per report</figcaption>"
        f"{rag_chart(figures.rag_by_report)}{rag_table}</figure>"
        f"<figure><figcaption>Ageing: overdue actions on {_day(as_of)} by days overdue"
        f"</figcaption>{ageing_chart(counts, as_of)}{ageing_table}</figure>"
        "</section>"
    )


def _fixed_table(columns: tuple[tuple[str, str, int], ...]) -> str:
    """The opening of a fixed-layout table of these columns, its header row included."""
    widths = "".join(f'<col class="w{share}">' for _, _, share in columns)
    return f'<table class="fixed"><colgroup>{widths}</colgroup>' + _head(
        *((text, cls) for text, cls, _ in columns)
    )


def _note(text: str) -> str:
    if len(text) <= NOTE_MAX_CHARS:
        return _e(text)
    return _e(text[:NOTE_MAX_CHARS].rstrip()) + "… (in full in the workbook)"


def _due(item: PackItem) -> str:
    """The due date; below it, the original one and the revisions, when it was revised."""
    shown = _day(item.due_date)
    revised = item.due_date_revisions > 0 or item.original_due_date != item.due_date
    if item.original_due_date is not None and revised:
        shown += f'<span class="sub">originally {_day(item.original_due_date)}</span>'
    if item.due_date_revisions:
        times = "once" if item.due_date_revisions == 1 else f"{item.due_date_revisions} times"
        shown += f'<span class="sub">revised {times}</span>'
    return shown


def _assessment(item: PackItem) -> str:
    shown = _rag(item.rag)
    if item.percent_complete is not None:
        shown += f'<span class="sub">{item.percent_complete}% complete</span>'
    return shown


def _flags(item: PackItem) -> str:
    flags = [name for name, on in (("Stale", item.stale),
             ("Proposed for closure", item.proposed_for_closure)) if on]  # fmt: skip
    return "".join(f'<span class="flag">{name}</span>' for name in flags)


def _item(pack: Pack, item: PackItem) -> str:
    """One action as a table body: its row, and its progress note in a row below."""
    late = ' class="num late"' if item.days_overdue > 0 else ' class="num"'
    row = (
        f'<tr><th scope="row">{_e(item.reference)}</th>'
        f'<td class="text">{_e(item.title)}</td><td class="text">{_e(item.report)}</td>'
        f'<td class="text">{_e(item.owner or "")}</td>'
        f"<td>{_e(label(STATUS_LABELS, item.status))}</td>"
        f"<td>{_e(label(PRIORITY_LABELS, item.priority))}</td>"
        f"<td>{_due(item)}</td><td>{_assessment(item)}</td>"
        f"<td>{_moment(pack, item.last_progress_at)}</td>"
        f"<td{late}>{item.days_overdue}</td><td>{_flags(item)}</td></tr>"
    )
    if item.progress_note:
        row += (
            f'<tr><td class="note text" colspan="{len(_ITEM_COLUMNS)}">Progress: '
            f"{_note(item.progress_note)}</td></tr>"
        )
    return f"<tbody>{row}</tbody>"


def _items(pack: Pack) -> str:
    body = (
        f"{_fixed_table(_ITEM_COLUMNS)}{''.join(_item(pack, item) for item in pack.items)}</table>"
        if pack.items
        else "<p>No actions match the selection.</p>"
    )
    return (
        '<section class="new-page" aria-labelledby="items-heading">'
        f'<h2 id="items-heading">Items ({len(pack.items)})</h2>{body}</section>'
    )


def _change_value(change: ChangeOut, value: str | None) -> str:
    if value is None:
        return ""
    if change.kind is ChangeKind.DUE_DATE_REVISED:
        try:
            return _day(date.fromisoformat(value))
        except ValueError:
            return _e(value)
    if change.kind is ChangeKind.RAG_CHANGED:
        return _rag(value)
    return _e(STATUS_LABELS.get(value, value))


def _changes(pack: Pack) -> str:
    changes = pack.changes
    rows = "".join(
        f"<tr><td>{_moment(pack, change.at)}</td>"
        f"<td>{_e(label(CHANGE_LABELS, change.kind))}</td>"
        f'<th scope="row">{_e(change.reference)}</th>'
        f'<td class="text">{_e(change.title)}</td>'
        f"<td>{_change_value(change, change.from_)}</td>"
        f"<td>{_change_value(change, change.to)}</td>"
        f'<td class="text">{_e(change.actor or "")}</td>'
        f'<td class="text">{_e(change.reason or "")}</td></tr>'
        for change in changes.items
    )
    body = (
        f"{_fixed_table(_CHANGE_COLUMNS)}<tbody>{rows}</tbody></table>"
        if rows
        else "<p>No changes.</p>"
    )
    left_out = pack.changes_left_out()
    if left_out is not None:
        body = f'<p class="left-out">{_e(left_out)}</p>{body}'
    return (
        '<section class="new-page" aria-labelledby="changes-heading">'
        f'<h2 id="changes-heading">Changes from {_day(changes.since)} to {_day(changes.until)}'
        f"</h2>{body}</section>"
    )


def _header(pack: Pack) -> str:
    scope = "; ".join(f"{what}: {value}" for what, value in pack.scope) or "all actions"
    return (
        f'<header><h1>{_e(pack.title)}</h1><dl class="scope">'
        f"<dt>Selection</dt><dd>{_e(scope)}</dd>"
        f"<dt>As on</dt><dd>{_day(pack.as_of)}</dd>"
        f"<dt>Changes</dt><dd>{_day(pack.changes.since)} to {_day(pack.changes.until)}</dd>"
        f"<dt>Made</dt><dd>{_moment(pack, pack.generated_at)}</dd></dl></header>"
    )


def render_html(pack: Pack) -> str:
    """The pack as a complete HTML document."""
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(pack.title)} – {pack.as_of.isoformat()}</title>"
        f"<style>{STYLESHEET}</style></head><body>{_header(pack)}<main>"
        f"{_summary(pack)}{_figures(pack)}{_items(pack)}{_changes(pack)}</main></body></html>"
    )
