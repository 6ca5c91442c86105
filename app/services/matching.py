"""Pair the findings of an edited report with the stored ones, tolerant of small edits.

Exact matches (same kind, same text up to spacing and case) pair first. The others are scored
with difflib, but each new finding only against a few stored ones rather than all of them
(which is quadratic: 2,000 edited findings would be 4 million comparisons): the stored
findings that share its rarest words, and those that stand where it stands, between the
findings already paired. A finding edited so much that it shares no uncommon word with its
old text and has moved away from it is taken as new, and the old one withdrawn.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Protocol, TypeVar

# Two texts at least this similar are the same finding, edited.
SIMILARITY_THRESHOLD = 0.75
# Stored findings scored against each new one, chosen by the rare words they share.
CANDIDATES_BY_WORDS = 4
# A word found in more unpaired stored findings than this says little about which one a new
# finding is; skipping such words bounds the work per finding.
COMMON_WORD_POSTINGS = 64
# Unpaired stored findings taken on each side of where a new finding falls between paired ones.
NEIGHBOURS = 1

_WORD = re.compile(r"\w+")


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
    """Map indexes of `new` to indexes of `old`: exact matches first, then the closest pairs.
    Both sequences are in report order."""
    old_keys = [(str(item.kind), _canonical(item.text)) for item in old]
    new_keys = [(str(item.kind), _canonical(item.text)) for item in new]
    pairs = _exact_pairs(old_keys, new_keys)
    paired_old = set(pairs.values())
    free_old = [index for index in range(len(old)) if index not in paired_old]
    free_new = [index for index in range(len(new)) if index not in pairs]
    if not free_old or not free_new:
        return pairs

    words = _WordIndex(old_keys, free_old)
    nearby = _neighbours(pairs, free_old, free_new, len(new))
    matchers: dict[int, SequenceMatcher[str]] = {}
    # (-score, 0 while the score is only quick_ratio's upper bound / 1 once exact, -new, -old)
    queue: list[tuple[float, int, int, int]] = []
    for new_index in free_new:
        kind, text = new_keys[new_index]
        matcher = matchers[new_index] = SequenceMatcher(autojunk=False)
        matcher.set_seq2(text)
        for old_index in words.candidates(kind, text) | nearby[new_index]:
            old_kind, old_text = old_keys[old_index]
            if old_kind != kind:
                continue
            matcher.set_seq1(old_text)
            if matcher.real_quick_ratio() < SIMILARITY_THRESHOLD:
                continue
            bound = matcher.quick_ratio()
            if bound >= SIMILARITY_THRESHOLD:
                queue.append((-bound, 0, -new_index, -old_index))
    # The closest pairs first. A pair's exact ratio (the costly part) is worked out only when
    # its upper bound comes to the front, so most pairs that would lose never need it; the
    # pairs chosen are those that sorting every exact ratio would choose.
    heapq.heapify(queue)
    taken = paired_old
    while queue:
        _score, exact, new_key, old_key = heapq.heappop(queue)
        new_index, old_index = -new_key, -old_key
        if new_index in pairs or old_index in taken:
            continue
        if not exact:
            matcher = matchers[new_index]
            matcher.set_seq1(old_keys[old_index][1])
            ratio = matcher.ratio()
            if ratio >= SIMILARITY_THRESHOLD:
                heapq.heappush(queue, (-ratio, 1, new_key, old_key))
            continue
        pairs[new_index] = old_index
        taken.add(old_index)
    return pairs


def _exact_pairs(
    old_keys: Sequence[tuple[str, str]], new_keys: Sequence[tuple[str, str]]
) -> dict[int, int]:
    """Same kind and text: in order, so that repeated texts pair first with first."""
    unpaired: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index in reversed(range(len(old_keys))):
        unpaired[old_keys[index]].append(index)
    pairs: dict[int, int] = {}
    for new_index, key in enumerate(new_keys):
        free = unpaired.get(key)
        if free:
            pairs[new_index] = free.pop()
    return pairs


class _WordIndex:
    """The unpaired stored findings by kind and word."""

    def __init__(self, old_keys: Sequence[tuple[str, str]], free_old: Sequence[int]) -> None:
        self._postings: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index in free_old:
            kind, text = old_keys[index]
            for word in set(_WORD.findall(text)):
                self._postings[kind, word].append(index)

    def candidates(self, kind: str, text: str) -> set[int]:
        """The stored findings sharing most of the text's uncommon words, rarer words weighing
        more."""
        scores: dict[int, float] = defaultdict(float)
        for word in set(_WORD.findall(text)):
            postings = self._postings.get((kind, word), ())
            if len(postings) > COMMON_WORD_POSTINGS:
                continue
            for index in postings:
                scores[index] += 1 / len(postings)
        best = heapq.nlargest(CANDIDATES_BY_WORDS, scores.items(), key=lambda item: item[1])
        return {index for index, _score in best}


def _neighbours(
    pairs: dict[int, int], free_old: Sequence[int], free_new: Sequence[int], new_count: int
) -> dict[int, set[int]]:
    """For each unpaired new finding, the unpaired stored ones just after the stored finding
    paired with the nearest paired finding before it, and just before the one paired with the
    nearest after it: where an edited finding's old text stands when the report kept its order."""
    # The stored finding paired with the nearest paired new finding before / after each one.
    paired_before: list[int | None] = [None] * new_count
    last: int | None = None
    for index in range(new_count):
        paired_before[index] = last
        if index in pairs:
            last = pairs[index]
    paired_after: list[int | None] = [None] * new_count
    last = None
    for index in reversed(range(new_count)):
        paired_after[index] = last
        if index in pairs:
            last = pairs[index]
    nearby: dict[int, set[int]] = {}
    for new_index in free_new:
        found: set[int] = set()
        before, after = paired_before[new_index], paired_after[new_index]
        start = 0 if before is None else bisect_right(free_old, before)
        found.update(free_old[start : start + NEIGHBOURS])
        end = len(free_old) if after is None else bisect_left(free_old, after)
        found.update(free_old[max(0, end - NEIGHBOURS) : end])
        nearby[new_index] = found
    return nearby
