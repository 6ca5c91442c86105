"""The committee pack's page and its charts, from packs built by hand, parsed."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from app.services.pack_charts import ageing_chart, nice_scale, rag_chart, trend_chart
from app.services.pack_html import render_html
from tests.pack_sample import AS_OF, FORMULA, HOSTILE, empty_pack, sample_pack


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.style if self._in_style else self.text).append(data)


def _parse(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    tags.close()
    return tags


def test_the_page_has_three_labelled_svg_charts_each_with_a_table_of_its_figures() -> None:
    pack = sample_pack()
    page = render_html(pack)
    tags = _parse(page)
    svgs = [attrs for tag, attrs in tags.tags if tag == "svg"]
    assert len(svgs) == 3
    assert [attrs["aria-labelledby"] for attrs in svgs] == [
        "trend-title trend-desc", "rag-title rag-desc", "ageing-title ageing-desc",
    ]  # fmt: skip
    assert all(attrs["role"] == "img" for attrs in svgs)
    ids = [attrs["id"] for _, attrs in tags.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    for name in ("trend", "rag", "ageing"):
        assert f"{name}-title" in ids and f"{name}-desc" in ids
    captions = [tag for tag, _ in tags.tags if tag == "caption"]
    assert len(captions) == 3
    text = " ".join(tags.text)
    rag = pack.figures.rag_by_report[0]
    assert re.search(
        rf"{re.escape(rag.report)}\s*{rag.red}\s*{rag.amber}\s*{rag.green}\s*"
        rf"{rag.not_assessed}\s*{rag.total}",
        text,
    )


def test_user_text_is_escaped_everywhere_on_the_page() -> None:
    page = render_html(sample_pack())
    tags = _parse(page)
    assert not [tag for tag, _ in tags.tags if tag in ("script", "img", "iframe", "object")]
    assert not [name for _, attrs in tags.tags for name in attrs if name.lower().startswith("on")]
    text = "".join(tags.text)
    # The hostile title comes back whole as text: in the items, the changes, the figures'
    # table and the chart's labels.
    assert text.count(HOSTILE) >= 4
    assert FORMULA in text
    assert "<script>" not in page


def test_the_page_loads_nothing_and_allows_only_its_own_stylesheet() -> None:
    page = render_html(sample_pack())
    tags = _parse(page)
    fetching = {"src", "href", "srcset", "xlink:href", "action", "poster", "data", "background"}
    assert not [
        (tag, name) for tag, attrs in tags.tags for name in attrs if name.lower() in fetching
    ]
    assert not [tag for tag, _ in tags.tags if tag in ("link", "script", "base", "iframe")]
    (stylesheet,) = tags.style
    assert "url(" not in stylesheet and "@import" not in stylesheet
    # No `style` attributes: the policy allows the stylesheet alone, by its hash.
    assert not [tag for tag, attrs in tags.tags if "style" in attrs]
    (policy,) = [
        attrs["content"]
        for tag, attrs in tags.tags
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    digest = base64.b64encode(hashlib.sha256(stylesheet.encode()).digest()).decode()
    assert policy is not None
    assert "default-src 'none'" in policy and f"style-src 'sha256-{digest}'" in policy


def test_the_page_is_styled_for_print() -> None:
    (stylesheet,) = _parse(render_html(sample_pack())).style
    assert "@page" in stylesheet and "size: A4 landscape" in stylesheet
    assert "break-before: page" in stylesheet
    assert "display: table-header-group" in stylesheet


def test_items_show_every_column_and_the_progress_note_below() -> None:
    pack = sample_pack()
    tags = _parse(render_html(pack))
    headers = [
        "Reference", "Title", "Report", "Owner", "Status", "Priority", "Due date", "RAG",
        "Last progress", "Days overdue", "Flags",
    ]  # fmt: skip
    text = "|".join(tags.text)
    assert "|".join(headers) in text
    first, second = pack.items
    # The due date with the original and the revisions; RAG with % complete; the flags.
    assert "30 Apr 2025|originally |31 Mar 2025|revised once" in text
    assert "Amber|45% complete" in text
    assert "Pending sign-off|High|Not assessed|0|Stale|Proposed for closure" in text
    assert f"Progress: {first.progress_note}" in text
    # 08:30 UTC, shown in London time.
    assert "2 Apr 2025 09:30" in text
    assert second.progress_note is None and text.count("Progress: ") == 1


def test_an_empty_pack_is_a_page_that_says_so() -> None:
    page = render_html(empty_pack())
    tags = _parse(page)
    assert len([tag for tag, _ in tags.tags if tag == "svg"]) == 3
    text = " ".join(tags.text)
    assert "No actions match the selection." in text
    assert "No changes." in text
    assert "all actions" in text


# --- the charts ------------------------------------------------------------------------------


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(markup)


@pytest.mark.parametrize("largest", [0, 1, 2, 3, 7, 10, 11, 99, 100, 101, 999, 12345])
def test_an_axis_holds_its_largest_value_in_a_few_whole_steps(largest: int) -> None:
    top, step = nice_scale(largest)
    assert top >= largest and top >= 1
    assert step >= 1 and top % step == 0
    assert top // step <= 5


def test_trend_bars_are_as_tall_as_their_values() -> None:
    trend = sample_pack().figures.trend
    svg = _svg(trend_chart(trend.items, trend.interval))
    bars = [rect for rect in svg.iter("rect") if rect.find("title") is not None]
    assert len(bars) == 2 * len(trend.items)
    values = [v for p in trend.items for v in (p.open, p.overdue)]
    heights = [float(bar.get("height", "0")) for bar in bars]
    tallest = max(range(len(values)), key=values.__getitem__)
    for value, height in zip(values, heights, strict=True):
        assert height == pytest.approx(heights[tallest] * value / values[tallest], abs=0.1)


def test_rag_bars_stack_each_reports_counts_in_proportion() -> None:
    reports = sample_pack().figures.rag_by_report
    svg = _svg(rag_chart(reports))
    for report in reports:
        segments = [
            rect for rect in svg.iter("rect")
            if (title := rect.find("title")) is not None
            and (title.text or "").startswith(f"{report.report}: ")
        ]  # fmt: skip
        shown = {(s.find("title").text or "").rsplit(" ", 1)[1]: s for s in segments}
        counts = {"red": report.red, "amber": report.amber, "green": report.green,
                  "assessed": report.not_assessed}  # fmt: skip
        assert set(shown) == {name for name, count in counts.items() if count}
        widths = {name: float(rect.get("width", "0")) for name, rect in shown.items()}
        unit = next(iter(widths.values())) / counts[next(iter(widths))]
        for name, width in widths.items():
            assert width == pytest.approx(unit * counts[name], abs=0.1)


def test_a_long_report_title_is_shortened_on_the_chart_and_whole_in_its_tooltip() -> None:
    long_title = "A very long report title " * 5
    reports = (replace(sample_pack().figures.rag_by_report[0], report=long_title),)
    svg = _svg(rag_chart(reports))
    labels = [text.text for text in svg.iter("text") if (text.text or "").startswith("A very")]
    (shown,) = labels
    assert shown is not None and shown.endswith("…") and len(shown) < len(long_title)
    assert long_title in [title.text for title in svg.iter("title")]


def test_ageing_bars_one_per_band() -> None:
    pack = sample_pack()
    svg = _svg(ageing_chart(pack.figures.ageing_counts(), AS_OF))
    bars = [rect for rect in svg.iter("rect") if rect.find("title") is not None]
    assert len(bars) == 4
    assert [int((bar.find("title").text or "").split(": ")[1].split()[0]) for bar in bars] == (
        list(pack.figures.ageing_counts())
    )
