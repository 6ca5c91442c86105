"""The committee pack's charts as inline SVG, drawn here on the server: no script, no external
asset, nothing for the reader's browser to fetch. Pure functions of the figures.

Each chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>` (the desc says
what it shows in a sentence); each mark has a `<title>` with its value, which browsers show on
hover. The page puts a table of the same figures beside each chart (app.services.pack_html).
Every text is escaped: report titles come from users.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

from app.schemas.pack import AGEING_BANDS, NOT_ASSESSED, ReportRag
from app.schemas.trend import TrendInterval, TrendPoint

WIDTH = 760
_TEXT = "#222222"
_GRID = "#d0d0d0"
OPEN_COLOUR = "#1f4e79"
OVERDUE_COLOUR = "#c0392b"
# Red, amber, green and not assessed, in the order bars are stacked.
RAG_COLOURS = (
    ("Red", "#c0392b"),
    ("Amber", "#e69f00"),
    ("Green", "#2e7d32"),
    (NOT_ASSESSED, "#9e9e9e"),
)
AGEING_COLOURS = ("#fdae6b", "#f16913", "#d94801", "#8c2d04")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_REPORT_LABEL_CHARS = 38
_MOST_AXIS_LABELS = 12


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate, short: no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def period_label(period_end: date, interval: TrendInterval) -> str:
    """`Mar 2025` for a month, `Q1 2025` for a quarter (calendar quarters)."""
    if interval is TrendInterval.QUARTER:
        return f"Q{(period_end.month - 1) // 3 + 1} {period_end.year}"
    return f"{_MONTHS[period_end.month - 1]} {period_end.year}"


def nice_scale(largest: int) -> tuple[int, int]:
    """(top, step) of an axis from 0 that holds `largest` in at most about five whole steps."""
    if largest <= 0:
        return 1, 1
    raw = largest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    whole = max(1, math.ceil(step))
    return math.ceil(largest / whole) * whole, whole


def _open_svg(name: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" role="img" aria-labelledby="{name}-title {name}-desc" '
        f'font-family="sans-serif" font-size="11" fill="{_TEXT}">',
        f'<title id="{name}-title">{_e(title)}</title>',
        f'<desc id="{name}-desc">{_e(desc)}</desc>',
    ]


def _legend(entries: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    parts = ['<g class="legend">']
    for text, colour in entries:
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{_n(x + 14)}" y="{_n(y)}">{_e(text)}</text>'
        )
        x += 22 + 7 * len(text)
    parts.append("</g>")
    return parts


def _value_axis(
    top_value: int, step: int, *, left: float, right: float, top: float, bottom: float
) -> list[str]:
    """Horizontal grid lines with their values, for a vertical scale from 0 to `top_value`."""
    parts = ['<g class="axis">']
    for value in range(0, top_value + 1, step):
        y = bottom - (bottom - top) * value / top_value
        parts.append(
            f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y)}" y2="{_n(y)}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end">{value}</text>'
        )
    parts.append("</g>")
    return parts


def _empty(parts: list[str], width: float, height: float, message: str) -> str:
    parts.append(
        f'<text x="{_n(width / 2)}" y="{_n(height / 2)}" text-anchor="middle">{_e(message)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(points: Sequence[TrendPoint], interval: TrendInterval) -> str:
    """Open and overdue actions at the end of each period, as pairs of bars."""
    height, left, right, top, bottom = 280.0, 52.0, 12.0, 30.0, 44.0
    desc = (
        f"Bars of open and overdue actions at the end of each of {len(points)} "
        f"{'quarters' if interval is TrendInterval.QUARTER else 'months'}"
    )
    if points:
        last = points[-1]
        desc += (
            f"; at {period_label(last.period_end, interval)}, {last.open} open and "
            f"{last.overdue} overdue."
        )
    parts = _open_svg("trend", WIDTH, height, "Open and overdue actions per period", desc)
    if not points:
        return _empty(parts, WIDTH, height, "No periods to show.")
    top_value, step = nice_scale(max(max(p.open, p.overdue) for p in points))
    floor_y = height - bottom
    parts += _value_axis(top_value, step, left=left, right=WIDTH - right, top=top, bottom=floor_y)
    parts += _legend([("Open", OPEN_COLOUR), ("Overdue", OVERDUE_COLOUR)], left, 14)
    band = (WIDTH - left - right) / len(points)
    bar = min(26.0, band * 0.38)
    every = math.ceil(len(points) / _MOST_AXIS_LABELS)
    parts.append('<g class="bars">')
    for index, point in enumerate(points):
        centre = left + band * (index + 0.5)
        name = period_label(point.period_end, interval)
        for offset, value, colour, what in (
            (-bar - 1, point.open, OPEN_COLOUR, "open"),
            (1, point.overdue, OVERDUE_COLOUR, "overdue"),
        ):
            bar_height = (floor_y - top) * value / top_value
            parts.append(
                f'<rect x="{_n(centre + offset)}" y="{_n(floor_y - bar_height)}" '
                f'width="{_n(bar)}" height="{_n(bar_height)}" fill="{colour}">'
                f"<title>{_e(name)}: {value} {what}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text x="{_n(centre)}" y="{_n(floor_y + 16)}" text-anchor="middle">'
                f"{_e(name)}</text>"
            )
    parts.append("</g></svg>")
    return "".join(parts)


def _short(text: str) -> str:
    if len(text) <= _REPORT_LABEL_CHARS:
        return text
    return text[: _REPORT_LABEL_CHARS - 1].rstrip() + "…"


def rag_chart(reports: Sequence[ReportRag]) -> str:
    """Each report's actions as one bar, stacked red, amber, green and not assessed."""
    left, right, top, bottom, row = 250.0, 48.0, 30.0, 28.0, 24.0
    height = top + row * max(len(reports), 1) + bottom
    totals = [sum(counts) for counts in (_rag_counts(report) for report in reports)]
    desc = (
        f"Stacked bars of the RAG assessment of each of {len(reports)} reports' actions: red, "
        f"amber, green and not assessed; {sum(report.red for report in reports)} red in all."
    )
    parts = _open_svg("rag", WIDTH, height, "RAG assessment per report", desc)
    if not reports:
        return _empty(parts, WIDTH, height, "No actions to show.")
    top_value, step = nice_scale(max(totals))
    plot = WIDTH - left - right
    parts += _legend(RAG_COLOURS, left, 14)
    axis_y = top + row * len(reports)
    parts.append('<g class="axis">')
    for value in range(0, top_value + 1, step):
        x = left + plot * value / top_value
        parts.append(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(top)}" y2="{_n(axis_y)}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{_n(x)}" y="{_n(axis_y + 16)}" text-anchor="middle">{value}</text>'
        )
    parts.append('</g><g class="bars">')
    for index, (report, total) in enumerate(zip(reports, totals, strict=True)):
        y = top + row * index
        parts.append(
            f"<g><title>{_e(report.report)}</title>"
            f'<text x="{_n(left - 8)}" y="{_n(y + row / 2 + 4)}" text-anchor="end">'
            f"{_e(_short(report.report))}</text></g>"
        )
        x = left
        for (name, colour), count in zip(RAG_COLOURS, _rag_counts(report), strict=True):
            if count == 0:
                continue
            length = plot * count / top_value
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y + 4)}" width="{_n(length)}" '
                f'height="{_n(row - 8)}" fill="{colour}">'
                f"<title>{_e(report.report)}: {count} {_e(name.lower())}</title></rect>"
            )
            x += length
        parts.append(f'<text x="{_n(x + 6)}" y="{_n(y + row / 2 + 4)}">{total}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _rag_counts(report: ReportRag) -> tuple[int, int, int, int]:
    """In the order of RAG_COLOURS."""
    return report.red, report.amber, report.green, report.not_assessed


def ageing_chart(counts: Sequence[int], as_of: date) -> str:
    """Overdue actions by how long they have been overdue, one bar per band."""
    width, height, left, right, top, bottom = 480.0, 240.0, 52.0, 12.0, 16.0, 40.0
    described = ", ".join(
        f"{band}: {count}" for band, count in zip(AGEING_BANDS, counts, strict=True)
    )
    desc = f"Bars of overdue actions on {as_of.isoformat()} by days overdue: {described}."
    parts = _open_svg("ageing", width, height, "Overdue actions by days overdue", desc)
    top_value, step = nice_scale(max(counts, default=0))
    floor_y = height - bottom
    parts += _value_axis(top_value, step, left=left, right=width - right, top=top, bottom=floor_y)
    band = (width - left - right) / len(AGEING_BANDS)
    bar = band * 0.6
    parts.append('<g class="bars">')
    for index, (name, count, colour) in enumerate(
        zip(AGEING_BANDS, counts, AGEING_COLOURS, strict=True)
    ):
        centre = left + band * (index + 0.5)
        bar_height = (floor_y - top) * count / top_value
        parts.append(
            f'<rect x="{_n(centre - bar / 2)}" y="{_n(floor_y - bar_height)}" width="{_n(bar)}" '
            f'height="{_n(bar_height)}" fill="{colour}"><title>{_e(name)}: {count} overdue'
            f"</title></rect>"
            f'<text x="{_n(centre)}" y="{_n(floor_y - bar_height - 4)}" '
            f'text-anchor="middle">{count}</text>'
            f'<text x="{_n(centre)}" y="{_n(floor_y + 16)}" text-anchor="middle">{_e(name)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
