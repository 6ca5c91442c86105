"""Pair the findings of an edited report with the stored ones, tolerant of small edits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Protocol, TypeVar

# Two texts at least this similar are the same finding, edited.
SIMILARITY_THRESHOLD = 0.75


class HasKindAndText(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def text(self) -> str: ...


Old = TypeVar("Old", bound=HasKindAndText)
New = TypeVar("New", bound=HasKindAndText)


def _canonical(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def match_findings(old: Sequence[Old], new: Sequence[New]) -> dict[int, int]:
    """Map indexes of `new` to indexes of `old`: exact matches first, then the closest pairs."""
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    old_by_text: dict[tuple[str, str], list[int]] = {}
    for index, stored in enumerate(old):
        old_by_text.setdefault((str(stored.kind), _canonical(stored.text)), []).append(index)
    for new_index, incoming in enumerate(new):
        candidates = old_by_text.get((str(incoming.kind), _canonical(incoming.text)), [])
        free = [i for i in candidates if i not in taken]
        if free:
            pairs[new_index] = free[0]
            taken.add(free[0])

    scored: list[tuple[float, int, int]] = []
    for new_index, incoming in enumerate(new):
        if new_index in pairs:
            continue
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(_canonical(incoming.text))
        for old_index, stored in enumerate(old):
            if old_index in taken or str(stored.kind) != str(incoming.kind):
                continue
            matcher.set_seq1(_canonical(stored.text))
            if matcher.real_quick_ratio() < SIMILARITY_THRESHOLD:
                continue
            if matcher.quick_ratio() < SIMILARITY_THRESHOLD:
                continue
            ratio = matcher.ratio()
            if ratio >= SIMILARITY_THRESHOLD:
                scored.append((ratio, new_index, old_index))
    for _ratio, new_index, old_index in sorted(scored, reverse=True):
        if new_index not in pairs and old_index not in taken:
            pairs[new_index] = old_index
            taken.add(old_index)
    return pairs
