"""The order of today's stats by report (app.services.stats_by_report.in_order) against the
order app.services.stats gives its groups: label casefolded, then key as text.

The fast path sorts one string per row (casefolded label, a NUL, the key), lowers ASCII labels
rather than casefolding them, and takes the titles in any order (in title order they come
nearly sorted). Labels here are drawn to catch each shortcut: prefixes of one another, keys
that sort apart as text and as numbers, labels equal once casefolded (`ß`, `SS`, `ss`), a
NUL inside a label, non-ASCII ones, and reports without a title.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services import stats_by_report
from app.services.stats_by_report import COUNTS, TOTAL

_WIDTH = stats_by_report.OLDEST + 1
_labels = st.text(
    alphabet=["a", "A", "b", "ß", "S", "s", "1", " ", "–", "\0", "É", "é"], max_size=5
)


def _row(report_id: int, total: int) -> tuple[Any, ...]:
    row: list[Any] = [0] * _WIDTH
    row[0] = report_id
    row[COUNTS] = row[TOTAL] = total
    row[stats_by_report.OLDEST] = None
    return tuple(row)


@settings(max_examples=300, deadline=None)
@given(
    reports=st.dictionaries(
        st.integers(1, 120),
        st.tuples(st.one_of(st.none(), _labels), st.integers(0, 2)),
        max_size=25,
    ),
    shuffle=st.randoms(use_true_random=False),
)
def test_rows_are_in_the_order_of_the_other_group_bys(
    reports: dict[int, tuple[str | None, int]], shuffle: Any
) -> None:
    rows = [_row(report_id, total) for report_id, (_, total) in reports.items()]
    titles = [(report_id, title) for report_id, (title, _) in reports.items() if title is not None]
    shuffle.shuffle(titles)
    shuffle.shuffle(rows)
    # What app.services.stats does: every group with an action, sorted by its label
    # casefolded, then its key as text ("(none)" for a report without a title).
    labels = {report_id: title for report_id, (title, _) in reports.items() if title is not None}
    labelled = [(labels.get(row[0], "(none)"), row) for row in rows if row[TOTAL]]
    expected = sorted(labelled, key=lambda pair: (pair[0].casefold(), str(pair[1][0])))
    assert stats_by_report.in_order(rows, titles) == expected
