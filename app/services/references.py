"""Stable human references such as CUMBRIA-2015-EFF-AFI-07."""

from __future__ import annotations

import re

from app.enums import FindingKind

# report.reference_prefix is String(100): room for a clash suffix ("-2"); finding references
# (String(120)) add "-AFI-07" to it.
PREFIX_MAX_CHARS = 90
_PILLAR_CODES = {
    "effectiveness": "EFF",
    "efficiency": "EFC",
    "legitimacy": "LEG",
    "leadership": "LDR",
}


def slug(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", value.upper()).strip("-")


def pillar_code(pillar: str) -> str:
    return _PILLAR_CODES.get(pillar.strip().lower()) or slug(pillar)[:3]


def candidate_prefixes(*, force: str, programme: str, year: str, pillar: str | None) -> list[str]:
    """Prefixes to try in order: the short form first, then longer ones that avoid a clash."""
    short = [slug(force), slug(year)]
    long = [slug(force), slug(programme), slug(year)]
    if pillar:
        short.append(pillar_code(pillar))
        long.append(slug(pillar))
    return [_joined(short), _joined(long)]


def _joined(parts: list[str]) -> str:
    """The parts joined by '-' in at most PREFIX_MAX_CHARS: while too long, the longest parts
    are cut to one common length (so a long force leaves room for the year and pillar)."""
    room = PREFIX_MAX_CHARS - (len(parts) - 1)
    cap = max(len(part) for part in parts)
    while cap > 0 and sum(min(len(part), cap) for part in parts) > room:
        cap -= 1
    return "-".join(part[:cap].rstrip("-") for part in parts)


def finding_reference(prefix: str, kind: FindingKind, number: int) -> str:
    return f"{prefix}-{kind.code}-{number:02d}"
