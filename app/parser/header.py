"""The report's front matter: the `<Force> <PROGRAMME> <YEAR>` header and the pillar line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import InvalidInput, ParseError
from app.parser.lines import is_block_heading
from app.schemas.common import METADATA_MAX_CHARS

HEADER_EXPECTED = (
    "a header line '<Force> <PROGRAMME> <YEAR>' (or force, programme and year given by the caller)"
)
YEAR_EXPECTED = "a year starting with four digits, such as '2015' or '2018/19'"

_WORD = r"[A-Z][\w'’.&-]*"
_HEADER = re.compile(
    rf"(?P<force>{_WORD}(?:\s+(?:and|of|the|&|{_WORD})){{0,6}})"
    r"\s+(?P<programme>[A-Z][A-Z0-9]+)"
    r"\s+(?P<year>\d{4}(?:[/–-](?:\d{4}|\d{2}))?)"
)
_START_YEAR = re.compile(r"\d{4}")
_PILLAR = re.compile(r"[A-Z](?:[\w’'&, -]{0,58}\w)?")
_PILLAR_MAX_WORDS = 6


@dataclass(frozen=True)
class FrontMatter:
    force: str
    programme: str
    year: str
    start_year: int
    pillar: str | None
    from_header: bool
    body_start: int  # index into the lines of the first line after the header and pillar


def read_front_matter(
    lines: Sequence[str],
    *,
    force: str | None,
    programme: str | None,
    year: str | None,
    pillar: str | None,
) -> FrontMatter:
    """Metadata from the header and pillar lines; values the caller gives win."""
    force, programme, year, pillar = (_given(value) for value in (force, programme, year, pillar))
    _check_given(force=force, programme=programme, year=year, pillar=pillar)
    header = _HEADER.fullmatch(lines[0].strip()) if lines else None
    if header:
        force = force or _checked("force", header["force"], line=1)
        programme = programme or _checked("programme", header["programme"], line=1)
        year = year or _checked("year", header["year"], line=1)
    if not (force and programme and year):
        first = lines[0].strip() if lines else ""
        raise ParseError(expected=HEADER_EXPECTED, line=1, found=first[:80] or None)
    start = 1 if header else 0
    pillar_index = _pillar_index(lines, start)
    body_start = start if pillar_index is None else pillar_index + 1
    if pillar_index is not None:
        line = pillar_index + 1
        pillar = pillar or _checked("pillar", lines[pillar_index].strip(), line=line)
    return FrontMatter(
        force=force,
        programme=programme,
        year=year,
        start_year=_start_year(year),
        pillar=pillar,
        from_header=header is not None,
        body_start=body_start,
    )


def _given(value: str | None) -> str | None:
    return (value or "").strip() or None


def _check_given(**given: str | None) -> None:
    """Metadata from the caller must fit the columns, as the API already checks."""
    for name, value in given.items():
        limit = METADATA_MAX_CHARS[name]
        if value is not None and len(value) > limit:
            detail = f"The {name} should have at most {limit} characters, not {len(value)}."
            raise InvalidInput(detail, field=name)


def _checked(name: str, value: str, *, line: int) -> str:
    """`value` read from the report text, if it fits its column."""
    limit = METADATA_MAX_CHARS[name]
    if len(value) > limit:
        expected = f"a {name} of at most {limit} characters"
        raise ParseError(expected=expected, line=line, found=value[:80])
    return value


def _start_year(year: str) -> int:
    match = _START_YEAR.match(year)
    if match is None:
        raise ParseError(expected=YEAR_EXPECTED, line=1, found=year[:80])
    return int(match[0])


def _pillar_index(lines: Sequence[str], start: int) -> int | None:
    """Index of a pillar line ('Effectiveness'): a short title, not a heading or sentence."""
    non_blank = (i for i in range(start, len(lines)) if lines[i].strip())
    candidate, following = next(non_blank, None), next(non_blank, None)
    if candidate is None or following is None:  # a pillar is followed by the report's content
        return None
    text = lines[candidate].strip()
    is_title = _PILLAR.fullmatch(text) is not None and len(text.split()) <= _PILLAR_MAX_WORDS
    # A short line whose next line starts in lower case is the start of a wrapped sentence.
    wrapped = lines[following].lstrip()[0].islower()
    return candidate if is_title and not wrapped and not is_block_heading(text) else None
