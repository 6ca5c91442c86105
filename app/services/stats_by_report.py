"""Today's stats by report (tens of thousands of groups, a JSON answer of many megabytes),
from the tallies, written straight to JSON a chunk at a time.

The same figures as app.services.stats_tallied gives for the other dimensions, and the same
bytes as app.services.stats makes of them (orjson over a dict per group), without the dicts:
one statement gives each report's tallied figures and its oldest overdue action (the seek of
app.services.report_oldest), one the active actions not yet due per report, one the titles;
the rows are kept as the driver's tuples, sorted as the answer shows them, and formatted to
bytes through a template a chunk at a time, the totals added up chunk by chunk. The tallies
are read folded and pending (a report may be in both: its two rows are added up here).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Integer, Select, cast, literal, select, union_all
from sqlalchemy.orm import Session

from app import clock
from app.db import Reader
from app.enums import ActionStatus
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import report_oldest, stats_tallied, tallies
from app.services.action_filters import R
from app.services.overdue_rule import ACTIVE_STATUSES
from app.services.stats_groups import STATUSES, group_figures

_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_COMPLETED = ActionStatus.COMPLETED.value
_NO_LABEL = "(none)"
# Groups formatted per chunk of the body (about 400 bytes each).
GROUPS_PER_CHUNK = 2000
# Rows fetched at a time.
_FETCH_BATCH = 5000
_STATUS_COUNT = len(STATUSES)
# A row: report id, the counts per status, their total, the dated actions held to their due
# date of the wanted active statuses (a past day's rows: the overdue), the two on-time figures,
# the oldest overdue action (a JSON array as read; a past day's: due date text, id, reference).
ID, COUNTS = 0, 1
TOTAL = COUNTS + _STATUS_COUNT
DATED, ON_TIME_ORIGINAL, ON_TIME_REVISED, OLDEST = range(TOTAL + 1, TOTAL + 5)
_SUMMED = slice(COUNTS, ON_TIME_REVISED + 1)
_COMPLETED_AT = COUNTS + STATUSES.index(_COMPLETED)
_GROUP = (
    b'{"key":%d,"label":%b,"counts":{'
    + b",".join(b'"%s":%%d' % status.encode() for status in STATUSES)
    + b'},"total":%d,"overdue":%d,"completed_share":%b,"oldest_overdue":%b,'
    b'"completed_on_time_original":%d,"completed_on_time_revised":%d}'
)
_OLDEST_OVERDUE = b'{"action_id":%d,"reference":%b,"due_date":"%b","days_overdue":%d}'
_TITLES = select(R.id, R.title)
_TITLES_BY_TITLE = _TITLES.order_by(R.title)


def answers(*, filters: ActionFilters, as_of: date, group_by: StatsGroupBy) -> bool:
    """Whether this request is answered here: by report, today, no filter but statuses."""
    return group_by is StatsGroupBy.REPORT and stats_tallied.answers(
        filters=filters, as_of=as_of, group_by=group_by
    )


@dataclass(frozen=True)
class ReportStats:
    """What the answer is written from: its day, each report's row sorted as shown, and per
    report the active actions not yet due (the overdue are the dated less those)."""

    as_of: date
    rows: list[tuple[str, Any]]  # (label, row)
    not_yet_due: dict[int, int]

    def chunks(self) -> Iterator[bytes]:
        """The answer as JSON (the bytes orjson makes of app.services.stats' answer), a few
        thousand groups at a time."""
        yield b'{"group_by":"report","as_of":"%b","groups":[' % self.as_of.isoformat().encode()
        dumps, loads, day = orjson.dumps, orjson.loads, date.fromisoformat
        as_of, rows, not_yet_due = self.as_of, self.rows, self.not_yet_due
        # Keyed by the share itself: a float, which (unlike a tuple) the garbage collector
        # does not follow, nor count towards its next collection.
        shares: dict[float, bytes] = {}
        overdue_total = oldest_id = 0
        oldest_due: date | None = None
        oldest_reference = ""
        sums = [0] * (_SUMMED.stop - _SUMMED.start)
        for start in range(0, len(rows), GROUPS_PER_CHUNK):
            parts = []
            for label, row in rows[start : start + GROUPS_PER_CHUNK]:
                report_id = row[ID]
                completed_share = row[_COMPLETED_AT] / row[TOTAL]
                share = shares.get(completed_share)
                if share is None:
                    share = shares[completed_share] = dumps(completed_share)
                overdue = row[DATED] - not_yet_due.get(report_id, 0)
                overdue_total += overdue
                written = b"null"
                oldest_found = row[OLDEST]
                if overdue and oldest_found is not None:
                    # A JSON array as read; (due date text, id, reference) when made here.
                    if type(oldest_found) is not tuple:
                        oldest_found = loads(oldest_found)
                    due_text, action_id, reference = oldest_found
                    due = day(due_text)
                    written = _OLDEST_OVERDUE % (
                        action_id,
                        dumps(reference),
                        due_text.encode(),
                        (as_of - due).days,
                    )
                    if (
                        oldest_due is None
                        or due < oldest_due
                        or (due == oldest_due and action_id < oldest_id)
                    ):
                        oldest_due, oldest_id, oldest_reference = due, action_id, reference
                parts.append(
                    _GROUP
                    % (
                        report_id,
                        dumps(label),
                        *row[COUNTS : TOTAL + 1],
                        overdue,
                        share,
                        written,
                        row[ON_TIME_ORIGINAL],
                        row[ON_TIME_REVISED],
                    )
                )
            chunk = rows[start : start + GROUPS_PER_CHUNK]  # its columns added up
            for index, column in enumerate(zip(*(row[_SUMMED] for _, row in chunk), strict=True)):
                sums[index] += sum(column)
            yield (b"," if start else b"") + b",".join(parts)
        sums[DATED - COUNTS] = overdue_total
        oldest = None if oldest_due is None else (oldest_due, oldest_id, oldest_reference)
        yield b'],"totals":' + dumps(_totals(sums, oldest, as_of)) + b"}"


def _totals(sums: list[int], oldest: tuple[date, int, str] | None, as_of: date) -> dict[str, Any]:
    counts = dict(zip(STATUSES, sums[:_STATUS_COUNT], strict=True))
    overdue, on_time_original, on_time_revised = sums[_STATUS_COUNT + 1 :]
    first = None
    if oldest is not None:
        due, action_id, reference = oldest
        first = {
            "action_id": action_id,
            "reference": reference,
            "due_date": due,
            "days_overdue": (as_of - due).days,
        }
    return group_figures(counts, overdue, first, (on_time_original, on_time_revised))


@lru_cache(maxsize=32)
def _statement(statuses: tuple[str, ...], as_of: date) -> Select[Any]:
    """Per report in the tallies (folded, then pending: a report may come twice), a row's
    values (see ID and after): its oldest overdue action as a JSON array, or NULL."""
    active = tuple(status for status in _ACTIVE if status in statuses)
    sources = [tallies.folded_figures("report"), tallies.pending_figures("report")]
    parts = []
    for source in sources:
        figures = source.subquery()
        report_id = cast(figures.c.key, Integer)
        counts = [
            figures.c[f"n_{status}"] if status in statuses else literal(0) for status in STATUSES
        ]
        dated: ColumnElement[Any] = literal(0)
        for status in active:
            dated = dated + figures.c[f"dated_{status}"]
        completed = _COMPLETED in statuses
        on_time = [
            figures.c[name] if completed else literal(0)
            for name in ("on_time_original", "on_time_revised")
        ]
        oldest: ColumnElement[Any] = literal(None)
        if active:
            first = report_oldest.first_overdue(active, as_of, report_id).correlate(figures)
            oldest = report_oldest.as_json_array(first)
        values = (report_id, *counts, _sum_of(counts), dated, *on_time, oldest)
        parts.append(select(*values).select_from(figures))
    return union_all(*parts)  # type: ignore[return-value]


def _sum_of(values: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def read(*, db: Reader, statuses: tuple[str, ...], as_of: date) -> ReportStats:
    """Today's figures per report of the actions of `statuses` (every status when empty)."""
    statuses = statuses or STATUSES
    active = tuple(status for status in _ACTIVE if status in statuses)
    not_yet_due = (
        stats_tallied.not_yet_due(db, StatsGroupBy.REPORT, active, as_of) if active else {}
    )
    return shown(
        db=db,
        rows=tallied_rows(db=db, statuses=statuses, as_of=as_of),
        as_of=as_of,
        not_yet_due=not_yet_due,
    )


def tallied_rows(*, db: Reader, statuses: tuple[str, ...], as_of: date) -> list[Any]:
    """One row per report in the tallies (see ID and after) of the actions of `statuses` (not
    empty): today's figures, and the first action of the report overdue on `as_of` by today's
    rows (a JSON array, or None)."""
    rows = _fetched(db, _statement(tuple(statuses), as_of))
    if len({row[ID] for row in rows}) < len(rows):
        rows = _added_up(rows)
    return rows


def shown(*, db: Reader, rows: list[Any], as_of: date, not_yet_due: dict[int, int]) -> ReportStats:
    """The answer of these rows (those with no action left out), each with its title, sorted
    as app.services.stats sorts its groups."""
    # The titles a batch at a time (none kept but the labels). On SQLite from their own index
    # (ix_report_title), in its order, which costs nothing more: joined to each tally row,
    # SQLite would read each report's row in its table, wide with the report's text. Not on
    # PostgreSQL, whose index holds no id: in title order it sorted the table on disk (130 ms
    # more at 1M) or read it row by row, against 40 ms more of Python sorting the rows.
    bind = db.get_bind() if isinstance(db, Session) else db
    statement = _TITLES_BY_TITLE if bind.dialect.name == "sqlite" else _TITLES
    titles = chain.from_iterable(_batches(db, statement))
    return ReportStats(as_of, in_order(rows, titles), not_yet_due)


def in_order(rows: list[Any], titles: Iterable[Any]) -> list[tuple[str, Any]]:
    """The rows with an action, each with its label (its report's title in `titles`, pairs of
    report id and title; else "(none)"), sorted by label casefolded, then key as text.

    `titles` in title order puts the rows nearly in the order shown (casefolded), which the
    sort (Timsort) takes in runs, with a fraction of the comparisons a random order needs; any
    order of `titles` gives the same answer."""
    found = {row[ID]: row for row in rows if row[TOTAL]}
    labels: list[str] = []
    shown_rows: list[Any] = []
    for report_id, title in titles:
        row = found.pop(report_id, None)
        if row is not None:
            labels.append(title)
            shown_rows.append(row)
    for row in found.values():  # a report without its row: no title
        labels.append(_NO_LABEL)
        shown_rows.append(row)
    del found
    # One string per row compares as the pair (label casefolded, key as text) does: the label,
    # a NUL, the key (NUL sorts before any character a label goes on with); strings compare
    # faster than pairs. Labels holding a NUL themselves are sorted by the pairs. An ASCII
    # label casefolds as it lowers, which is much cheaper.
    keys: list[Any]
    if any("\0" in label for label in labels):
        keys = [
            (label.casefold(), str(row[ID])) for label, row in zip(labels, shown_rows, strict=True)
        ]
    else:
        keys = [
            f"{label.lower() if label.isascii() else label.casefold()}\0{row[ID]}"
            for label, row in zip(labels, shown_rows, strict=True)
        ]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    del keys
    return [(labels[index], shown_rows[index]) for index in order]


def _fetched(db: Reader, statement: Select[Any]) -> list[Any]:
    """The rows of `_batches` in one list."""
    rows: list[Any] = []
    for batch in _batches(db, statement):
        rows += batch
    return rows


def _batches(db: Reader, statement: Select[Any]) -> Iterator[list[Any]]:
    """The rows as plain tuples: tens of thousands of SQLAlchemy Row objects kept would be
    carried by the garbage collector from generation to generation, and set off a full
    collection on each answer (a tuple of plain values it stops following). A batch at a time,
    from a server-side cursor on PostgreSQL, whose driver would otherwise hold every row twice
    (its own copy and Python's)."""
    streamed = statement.execution_options(stream_results=True, yield_per=_FETCH_BATCH)
    with db.execute(streamed) as result:
        for batch in result.partitions():
            yield list(map(tuple, batch))


def _added_up(rows: list[Any]) -> list[Any]:
    """One row per report: a report in the folded tallies and the pending deltas both has
    its figures added up."""
    found: dict[int, list[Any]] = {}
    for row in rows:
        before = found.get(row[ID])
        if before is None:
            found[row[ID]] = list(row)
            continue
        for index in range(_SUMMED.start, _SUMMED.stop):
            before[index] += row[index]
    return list(found.values())


def today(*, db: Reader, filters: ActionFilters) -> ReportStats:
    """`read` for a request's filters (those `answers` takes)."""
    return read(db=db, statuses=filters.statuses, as_of=filters.as_of or clock.today())
