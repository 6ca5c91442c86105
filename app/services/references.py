"""Stable human references such as CUMBRIA-2015-EFF-AFI-07."""

from __future__ import annotations

import re

from app.enums import FindingKind

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
    return ["-".join(short), "-".join(long)]


def finding_reference(prefix: str, kind: FindingKind, number: int) -> str:
    return f"{prefix}-{kind.code}-{number:02d}"
