"""Text normalisation and line classification: the lexer under `parse.py`.

Raw lines are classified one by one, then joined into logical lines (a hard-wrapped
paragraph, item or question heading becomes one line again).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum, auto
from itertools import pairwise

from app.enums import FindingKind
from app.errors import ParseError

NOT_TEXT = "UTF-8 text"

# Tab, newline and the page/line breaks of PDF and word-processor exports are text;
# other C0 controls, DEL and lone surrogates mean binary data (or a broken decode).
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"\r\n|[\r\n\v\f\u2028\u2029]")
_BREAKS_BYTES = re.compile(rb"\r\n|[\r\n\v\f]")

_HEADING = re.compile(
    r"(?:(?P<afi>areas?)\s+for\s+improvement"
    r"|(?P<coc>causes?|cause\(s\))\s+of\s+concern"
    r"|(?P<rec>recommendations?|recommendation\(s\)))"
    r"(?:\s+\d+)?\s*:?",
    re.IGNORECASE,
)
_HEADING_KINDS = {
    "afi": FindingKind.AREA_FOR_IMPROVEMENT,
    "coc": FindingKind.CAUSE_OF_CONCERN,
    "rec": FindingKind.RECOMMENDATION,
}
_SUBPOINT = re.compile(
    r"(?P<marker>[◦○]|\((?:[a-z]|[ivx]+)\)|(?:[a-z]|[ivx]+)\))\s+(?P<text>\S.*)", re.IGNORECASE
)
_BULLET = re.compile(r"(?P<marker>[-•*–—▪●‣]|\d{1,2}[.)])\s+(?P<text>\S.*)")
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"\b[ivx]+\b")
_LETTERS = re.compile(r"\b[a-hj-uwyz]\b")
TERMINATED = re.compile(r"[.!?:;][\"'’”)\]]*$")
_HYPHENATED = re.compile(r"[^\W\d_]-$")
_SENTENCE_BREAK = re.compile(r"[.!?][\"'’”)\]]*\s+[A-Z]")
_MAX_QUESTION_LENGTH = 250


class Kind(Enum):
    BLANK = auto()
    TEXT = auto()
    QUESTION = auto()
    HEADING = auto()
    ITEM = auto()
    SUBPOINT = auto()


@dataclass(frozen=True)
class Line:
    number: int
    kind: Kind
    text: str
    indent: int = 0
    # The marker's style (see _style), so that items of one list compare equal.
    bullet: str = ""
    block_kind: FindingKind | None = None
    singular: bool = False


def normalise_text(raw: str | bytes) -> str:
    """Decode, unify line endings, strip trailing whitespace and surrounding blank lines."""
    text = _decode(raw) if isinstance(raw, bytes) else _check_text(raw.removeprefix("\ufeff"))
    lines = [line.rstrip() for line in _BREAKS.split(text)]
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    end = len(lines)
    while end > start and not lines[end - 1]:
        end -= 1
    return "\n".join(lines[start:end])


def _decode(raw: bytes) -> str:
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        control = _BINARY_BYTES.search(raw, 0, exc.start)
        offset = control.start() if control else exc.start
        line = len(_BREAKS_BYTES.findall(raw, 0, offset)) + 1
        raise ParseError(expected=NOT_TEXT, line=line) from None
    return _check_text(text)


def _check_text(text: str) -> str:
    bad = _BINARY_CHARS.search(text)
    if bad:
        raise ParseError(expected=NOT_TEXT, line=len(_BREAKS.findall(text, 0, bad.start())) + 1)
    return text


def is_block_heading(text: str) -> bool:
    return _HEADING.fullmatch(text.strip()) is not None


def classify(number: int, raw: str) -> Line:
    """What one raw line is on its own; whether it is a question is decided after joining."""
    text = raw.strip()
    expanded = raw.expandtabs(4)
    indent = len(expanded) - len(expanded.lstrip())
    if not text:
        return Line(number, Kind.BLANK, "")
    if heading := _HEADING.fullmatch(text):
        group = next(name for name in _HEADING_KINDS if heading[name])
        singular = not heading[group].lower().endswith(("s", ")"))
        return Line(number, Kind.HEADING, text, indent, "", _HEADING_KINDS[group], singular)
    if sub := _SUBPOINT.fullmatch(text):
        return Line(number, Kind.SUBPOINT, sub["text"], indent, _style(sub["marker"]))
    if bullet := _BULLET.fullmatch(text):
        return Line(number, Kind.ITEM, bullet["text"], indent, _style(bullet["marker"]))
    return Line(number, Kind.TEXT, text, indent)


def _style(marker: str) -> str:
    """'3.' -> '1.', '(c)' -> '(a)', 'iv)' -> 'i)': markers of one list share a style."""
    return _LETTERS.sub("a", _ROMAN.sub("i", _DIGITS.sub("1", marker.lower())))


def logical_lines(raw_lines: Sequence[Line]) -> list[Line]:
    """Join hard-wrapped raw lines back into paragraphs, items and headings; drop blanks."""
    block_mode = _is_block_mode(raw_lines)
    groups: list[list[Line]] = []  # the raw lines of each logical line
    after_blank = True
    for line in raw_lines:
        if line.kind is Kind.BLANK:
            after_blank = True
            continue
        if not after_blank and groups and _continues(groups[-1], line, block_mode=block_mode):
            groups[-1].append(line)
        else:
            groups.append([line])
        after_blank = False
    return [_as_question(_merge(group)) for group in groups]


def _is_block_mode(lines: Sequence[Line]) -> bool:
    """Whether blank lines, not line ends, separate paragraphs.

    A vote rather than "any blank line" so that one stray blank line in a
    one-paragraph-per-line report does not glue all its paragraphs together.
    """
    votes = 0
    for line, following in pairwise(lines):
        if line.kind in (Kind.BLANK, Kind.HEADING) or not TERMINATED.search(line.text):
            continue
        if following.kind is Kind.BLANK:
            votes += 1
        elif following.kind is Kind.TEXT:
            votes -= 1
    return votes > 0


def _continues(group: Sequence[Line], line: Line, *, block_mode: bool) -> bool:
    first, last = group[0], group[-1]
    if line.kind is not Kind.TEXT or first.kind not in (Kind.TEXT, Kind.ITEM, Kind.SUBPOINT):
        return False
    if last.text.endswith("?"):
        return False
    if line.indent > first.indent or not TERMINATED.search(last.text):
        return True
    if line.text.endswith("?"):
        # After a full stop a question is the next heading, not the tail of a paragraph.
        return block_mode and line.text[0].islower()
    return block_mode


def _merge(group: Sequence[Line]) -> Line:
    """One line from a group, joined with single spaces ('co-' + 'ordinated' without one)."""
    pieces = [group[0].text]
    for previous, line in pairwise(group):
        pieces.append("" if _HYPHENATED.search(previous.text) else " ")
        pieces.append(line.text)
    return replace(group[0], text="".join(pieces))


def _as_question(line: Line) -> Line:
    return replace(line, kind=Kind.QUESTION) if _is_question(line) else line


def _is_question(line: Line) -> bool:
    text = line.text
    return (
        line.kind is Kind.TEXT
        and text.endswith("?")
        and len(text) <= _MAX_QUESTION_LENGTH
        and text[0].isupper()
        and not _SENTENCE_BREAK.search(text[:-1])
    )
