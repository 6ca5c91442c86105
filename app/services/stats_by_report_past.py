"""A past day's stats by report, as today's (app.services.stats_by_report) corrected by the
states begun or ended since (app.services.stats_delta for the principle), written to JSON
the same way: no dict per group, and none of the states that did not change read.

Per report, on the day: today's tallied figures of the wanted statuses, less those of the
current states begun since (RECENT), plus those of the ended states that held then (ENDED);
the overdue, today's dated-and-held less the ones not yet due on the day, less the RECENT
states overdue then, plus the ENDED ones overdue then. The oldest overdue action is the
earlier of: the first action overdue on the day by today's rows (the seek per report of
app.services.report_oldest, made with the day), unless its current state began after the day
(then the report's next ones, read in one statement for all such reports); and the oldest of
its ENDED states overdue then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from app.db import Reader
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import report_oldest, stats_tallied
from app.services.action_filters import A, filter_values
from app.services.as_of import ENDED, RECENT, is_past
from app.services.overdue_rule import ACTIVE_STATUSES, WITHDRAWN, active_as_indexed
from app.services.stats_by_report import (
    COUNTS,
    DATED,
    ID,
    OLDEST,
    ON_TIME_ORIGINAL,
    ON_TIME_REVISED,
    ReportStats,
    shown,
    tallied_rows,
)
from app.services.stats_delta import Disagreement, part, skipped_ids
from app.services.stats_groups import STATUSES
from app.services.stats_past import decode_oldest

_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_IDS_PER_STATEMENT = 500


def answers(*, filters: ActionFilters, as_of: date, group_by: StatsGroupBy) -> bool:
    """Whether this request is answered here: by report, a past day, no filter but statuses."""
    if group_by is not StatsGroupBy.REPORT or not is_past(as_of):
        return False
    shape, _ = filter_values(filters=filters, as_of=as_of)
    return set(shape) <= {"statuses"}


@lru_cache(maxsize=16)
def _overdue_of_reports(active: tuple[str, ...]) -> Select[Any]:
    """The actions of the reports `report_ids` overdue on `as_of` by today's rows, per report
    in due-date order (ix_action_report_overdue)."""
    return (
        select(A.report_id, A.due_date, A.id, A.reference)
        .where(
            A.report_id.in_(bindparam("report_ids", expanding=True)),
            active_as_indexed(A.status),
            A.status.in_(active),
            A.due_date < bindparam("as_of", type_=A.due_date.type),
            A.finding_id.not_in(WITHDRAWN),
        )
        .order_by(A.report_id, A.due_date, A.id)
    )


def _next_held(
    db: Reader, active: tuple[str, ...], as_of: date, reports: list[int], skipped: frozenset[int]
) -> dict[int, tuple[date, int, str]]:
    """Per report, its first action overdue on `as_of` by today's rows that is not `skipped`."""
    found: dict[int, tuple[date, int, str]] = {}
    statement = _overdue_of_reports(active)
    for start in range(0, len(reports), _IDS_PER_STATEMENT):
        chunk = reports[start : start + _IDS_PER_STATEMENT]
        params = {"report_ids": chunk, "as_of": as_of}
        for report_id, due, action_id, reference in db.execute(statement, params):
            if report_id not in found and action_id not in skipped:
                found[report_id] = (due, action_id, reference)
    return found


def _references(db: Reader, action_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(action_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        found.update(db.execute(select(A.id, A.reference).where(A.id.in_(chunk))).all())
    return found


def read(*, db: Reader, filters: ActionFilters, as_of: date) -> ReportStats:
    """The figures per report on `as_of` (a past day) of the actions of `filters.statuses`
    (every status when empty), as they stood at its end. Raises Disagreement when today's
    figures count an overdue action no state shows (the caller reads the states instead)."""
    shape, params = filter_values(filters=filters, as_of=as_of)
    wanted = filters.statuses or STATUSES
    active = tuple(status for status in _ACTIVE if status in wanted)
    pending = stats_tallied.not_yet_due(db, StatsGroupBy.REPORT, active, as_of) if active else {}
    recent = part(db, shape, StatsGroupBy.REPORT, params, RECENT)
    ended = part(db, shape, StatsGroupBy.REPORT, params, ENDED)
    skipped = skipped_ids(db, active, params) if active else frozenset()
    # Rows as tuples of plain values (see stats_by_report._fetched). A report no state of
    # which changed since the day keeps today's row: its overdue on the day are its dated
    # less those not yet due then (`pending`, subtracted as the answer is written), and its
    # first action overdue then by today's rows held then.
    changed = recent.counts.keys() | ended.counts.keys()
    rows = tallied_rows(db=db, statuses=wanted, as_of=as_of)
    today = {row[ID]: row for row in rows if row[ID] in changed}
    rows = [row for row in rows if row[ID] not in changed]
    none = dict.fromkeys(STATUSES, 0)
    firsts: dict[int, tuple[date, int, str]] = {}
    passed_over = []  # reports whose first overdue by today's rows did not hold on the day
    for report_id in changed:
        row = today.get(report_id)
        gone, came = recent.counts.get(report_id, none), ended.counts.get(report_id, none)
        counts = [
            (row[COUNTS + index] if row else 0) - gone[status] + came[status]
            for index, status in enumerate(STATUSES)
        ]
        still = (row[DATED] - pending.get(report_id, 0) if row else 0) - recent.overdue.get(
            report_id, 0
        )
        less = recent.on_time.get(report_id, (0, 0))
        more = ended.on_time.get(report_id, (0, 0))
        on_time = (
            (row[ON_TIME_ORIGINAL] if row else 0) - less[0] + more[0],
            (row[ON_TIME_REVISED] if row else 0) - less[1] + more[1],
        )
        if still > 0:
            held = report_oldest.from_json_array(row[OLDEST] if row else None)
            if held is None or held.action_id in skipped:
                passed_over.append(report_id)
            else:
                firsts[report_id] = held
        # As the dated: the answer subtracts those not yet due.
        dated = still + ended.overdue.get(report_id, 0) + pending.get(report_id, 0)
        rows.append((report_id, *counts, sum(counts), dated, *on_time, None))
    firsts.update(_next_held(db, active, as_of, sorted(passed_over), skipped))
    ended_oldest = {key: decode_oldest(value) for key, value in ended.oldest.items()}
    references = _references(db, (action_id for _, action_id in ended_oldest.values()))
    for index in range(len(rows) - len(changed), len(rows)):
        row = rows[index]
        report_id = row[ID]
        if row[DATED] == pending.get(report_id, 0):  # none overdue
            continue
        candidates = [firsts[report_id]] if report_id in firsts else []
        if report_id in ended_oldest:
            due, action_id = ended_oldest[report_id]
            candidates.append((due, action_id, references[action_id]))
        if not candidates:
            raise Disagreement(f"stats by report on {as_of}: report {report_id}")
        due, action_id, reference = min(candidates, key=lambda found: found[:2])
        rows[index] = (*row[:OLDEST], (due.isoformat(), action_id, reference))
    del today, recent, ended  # their memory reused by the titles and the sort
    return shown(db=db, rows=rows, as_of=as_of, not_yet_due=pending)
