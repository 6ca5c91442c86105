"""Pairing an edited report's findings with the stored ones (app.services.matching)."""

from __future__ import annotations

import difflib
import random
from dataclasses import dataclass

import pytest

from app.services import matching
from app.services.matching import match_findings

AFI = "area_for_improvement"
REC = "recommendation"
VERBS = ("improve", "review", "strengthen", "evaluate", "develop", "publish", "monitor")
NOUNS = (
    "supervision of investigations",
    "use of digital evidence",
    "workforce planning",
    "victim updates",
    "crime recording",
    "safeguarding referrals",
)


@dataclass(frozen=True)
class Item:
    kind: str
    text: str


def _findings(count: int, seed: int = 3) -> list[Item]:
    rng = random.Random(seed)
    return [
        Item(
            AFI if number % 4 else REC,
            f"The force should {rng.choice(VERBS)} its {rng.choice(NOUNS)} (finding {number}) "
            f"so that it can show that {rng.choice(NOUNS)} is improving.",
        )
        for number in range(count)
    ]


def _edited(item: Item) -> Item:
    text = item.text.replace("can show that", "can demonstrate that").replace(
        "is improving.", "is improving, and report on it."
    )
    return Item(item.kind, text)


class _CountingMatcher(difflib.SequenceMatcher[str]):
    ratios = 0

    def ratio(self) -> float:
        _CountingMatcher.ratios += 1
        return super().ratio()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_CountingMatcher]:
    _CountingMatcher.ratios = 0
    monkeypatch.setattr(matching, "SequenceMatcher", _CountingMatcher)
    return _CountingMatcher


def test_edited_findings_of_a_large_report_pair_with_their_old_text_in_bounded_work(
    counted: type[_CountingMatcher],
) -> None:
    old = _findings(3000)
    edited = set(range(0, 3000, 5))
    new = [_edited(item) if index in edited else item for index, item in enumerate(old)]

    pairs = match_findings(old, new)

    assert pairs == {index: index for index in range(3000)}
    # Comparing every unpaired new finding with every unpaired old one would be 600 x 600
    # (less the other kind); a few candidates each is linear.
    assert counted.ratios <= 3 * len(edited)


def test_edited_findings_among_many_alike_pair_by_their_place() -> None:
    # Every other finding has its number changed: the 100 unpaired old findings share all their
    # words but the number, so no word is rare enough to find the old text by; each edited
    # finding still stands between the same two unchanged neighbours.
    old = [Item(AFI, f"The force should review its crime recording, item {n}.") for n in range(200)]
    new = [
        Item(AFI, f"The force should review its crime recording, item {n + 1000}.")
        if n % 2
        else item
        for n, item in enumerate(old)
    ]

    assert match_findings(old, new) == {index: index for index in range(200)}


def test_moved_and_edited_findings_pair_by_their_words() -> None:
    old = _findings(300)
    new = list(reversed([_edited(item) for item in old]))

    pairs = match_findings(old, new)

    assert pairs == {index: 299 - index for index in range(300)}


def test_the_closest_text_wins_when_two_new_findings_want_one_old_one() -> None:
    old = [Item(AFI, "The force should improve how it records crimes reported by the public.")]
    near = Item(
        AFI, "The force should improve how it records crimes reported by members of the public."
    )
    nearer = Item(AFI, "The force should improve how it records the crimes reported by the public.")

    assert match_findings(old, [near, nearer]) == {1: 0}
    assert match_findings(old, [nearer, near]) == {0: 0}


def test_a_rewritten_finding_is_new_and_findings_of_another_kind_never_pair() -> None:
    old = [
        Item(AFI, "The force should improve its supervision of investigations."),
        Item(REC, "The force should publish its workforce plan within six months."),
    ]
    new = [
        Item(AFI, "Leaders should set out how the estate will be used by 2030."),
        Item(AFI, "The force should publish its workforce plan within six months."),
    ]

    assert match_findings(old, new) == {}


def test_repeated_texts_pair_in_order() -> None:
    old = [Item(AFI, "Same text."), Item(AFI, "Same text."), Item(AFI, "Other text here.")]
    new = [Item(AFI, "Same text."), Item(AFI, "Other text here."), Item(AFI, "Same text.")]

    assert match_findings(old, new) == {0: 0, 2: 1, 1: 2}
