"""Report text in, `ParsedReport` out: a single pass over logical lines.

Question headings (lines ending in '?') open sections; block headings such as
'Areas for improvement' open findings blocks, whose items and paragraphs are the findings.
Everything else is narrative and goes into the current section's paragraphs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.enums import FindingKind
from app.errors import ParseError
from app.parser.header import read_front_matter
from app.parser.lines import Kind, Line, classify, logical_lines, normalise_text
from app.parser.model import ParsedFinding, ParsedReport, ParsedSection

__all__ = ["normalise_text", "parse_report"]

CONTENT_EXPECTED = (
    "a question heading (a line ending in '?') or a findings block such as 'Areas for improvement'"
)
NO_FINDINGS_WARNING = (
    "No findings: no 'Areas for improvement', 'Cause of concern' or 'Recommendations' "
    "block with items was found."
)
_RECOMMEND = re.compile(r"\brecommend", re.IGNORECASE)


def parse_report(
    raw: str | bytes,
    *,
    force: str | None = None,
    programme: str | None = None,
    year: str | None = None,
    pillar: str | None = None,
) -> ParsedReport:
    text = normalise_text(raw)
    lines = text.split("\n")
    front = read_front_matter(lines, force=force, programme=programme, year=year, pillar=pillar)
    body = logical_lines(
        [classify(index + 1, lines[index]) for index in range(front.body_start, len(lines))]
    )
    if not front.from_header and not any(_is_structure(line) for line in body):
        last = lines[-1].strip()
        raise ParseError(expected=CONTENT_EXPECTED, line=len(lines), found=last[:80] or None)

    builder = _Builder(main_question=_main_question(body))
    for line in body:
        builder.feed(line)
    builder.close_block()
    if not builder.findings:
        builder.warnings.append(NO_FINDINGS_WARNING)

    title = f"{front.force} {front.programme} {front.year}"
    return ParsedReport(
        force=front.force,
        programme=front.programme,
        year=front.year,
        start_year=front.start_year,
        pillar=front.pillar,
        title=f"{title} – {front.pillar}" if front.pillar else title,
        main_question=builder.main_question,
        sections=builder.sections,
        findings=builder.findings,
        warnings=builder.warnings,
        normalised_text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _is_structure(line: Line) -> bool:
    return line.kind in (Kind.QUESTION, Kind.HEADING)


def _main_question(body: Sequence[Line]) -> str | None:
    """The pillar's main question: the first question heading, if another follows it directly."""
    questions = (i for i, line in enumerate(body) if line.kind is Kind.QUESTION)
    first = next(questions, None)
    if first is None or first + 1 >= len(body) or body[first + 1].kind is not Kind.QUESTION:
        return None
    return body[first].text


@dataclass
class _Item:
    finding: ParsedFinding
    indent: int
    bullet: str


@dataclass
class _Block:
    kind: FindingKind
    singular: bool
    heading: Line
    context: str | None = None  # the lead-in ('... the force should:') of the items that follow
    item: _Item | None = None  # the finding that sub-points attach to
    count: int = 0


class _Builder:
    """Where the pass is: the current section, findings block and item."""

    def __init__(self, *, main_question: str | None) -> None:
        self.main_question = main_question
        self.sections: list[ParsedSection] = []
        self.findings: list[ParsedFinding] = []
        self.warnings: list[str] = []
        self._section: ParsedSection | None = None
        self._block: _Block | None = None

    def feed(self, line: Line) -> None:
        if line.kind is Kind.QUESTION:
            self._open_section(line)
        elif line.kind is Kind.HEADING:
            self._open_block(line)
        elif self._block is None:
            self._add_paragraph(line)
        elif line.kind is Kind.TEXT:
            self._block_text(self._block, line)
        else:
            self._block_item(self._block, line)

    def close_block(self) -> None:
        block = self._block
        if block is not None and block.count == 0:
            self.warnings.append(
                f"{block.heading.text!r} at line {block.heading.number} has no findings."
            )
        self._block = None

    def _open_section(self, line: Line) -> None:
        self.close_block()
        is_main = self.main_question is not None and not self.sections
        parent = None if is_main else self.main_question
        self._section = ParsedSection(heading=line.text, parent=parent)
        self.sections.append(self._section)

    def _open_block(self, line: Line) -> None:
        self.close_block()
        assert line.block_kind is not None  # classify() sets it on every heading
        self._block = _Block(kind=line.block_kind, singular=line.singular, heading=line)

    def _add_paragraph(self, line: Line) -> None:
        if self._section is not None:
            self._section.paragraphs.append(line.text)

    def _block_text(self, block: _Block, line: Line) -> None:
        """A paragraph inside a findings block: a lead-in, the finding itself, or narrative."""
        if line.text.endswith(":") and not _is_paragraph_finding(block, line):
            block.context = line.text
            block.item = None
        elif block.count == 0:
            self._add_finding(block, line)
        else:
            # Text after the block's findings ('We set out our detailed findings below.').
            self.close_block()
            self._add_paragraph(line)

    def _block_item(self, block: _Block, line: Line) -> None:
        if block.item is not None and _is_subpoint(block.item, line):
            block.item.finding.subpoints.append(line.text)
        else:
            self._add_finding(block, line)

    def _add_finding(self, block: _Block, line: Line) -> None:
        finding = ParsedFinding(
            kind=_item_kind(block),
            question=self._section.heading if self._section else None,
            text=line.text,
            context=block.context,
            line=line.number,
        )
        self.findings.append(finding)
        block.item = _Item(finding, line.indent, line.bullet)
        block.count += 1


def _is_paragraph_finding(block: _Block, line: Line) -> bool:
    """Under a singular heading the first paragraph is the finding, even one ending in ':'."""
    return block.singular and block.count == 0 and not _RECOMMEND.search(line.text)


def _item_kind(block: _Block) -> FindingKind:
    # HMIC puts recommendations inside cause-of-concern blocks behind a 'we recommend' lead-in.
    if (
        block.kind is FindingKind.CAUSE_OF_CONCERN
        and block.context
        and _RECOMMEND.search(block.context)
    ):
        return FindingKind.RECOMMENDATION
    return block.kind


def _is_subpoint(item: _Item, line: Line) -> bool:
    if line.indent > item.indent:
        return True
    if line.kind is Kind.SUBPOINT:
        return line.bullet != item.bullet  # after '(a)' an item, '(b)' is the next item
    introduces_list = item.finding.text.endswith(":")
    return introduces_list and (line.text[0].islower() or line.bullet != item.bullet)
