"""A past day's stats and overdue counts as today's, less the states begun since, plus the
ended states that held then.

The states that held at the end of a day (moment c) are the current ones begun before c and
the ended ones begun before c that ended at c or later. So a figure that adds up over actions
is, on that day: today's (the tallies and the not-yet-due range, as app.services.stats_tallied
reads them), less the same figure over the current states begun at c or later (RECENT), plus
the figure over the ended states that held at c (ENDED). Both are ranges of
ix_action_state_held holding only the states that changed since c: a year back, a fraction of
the states that held at c, which app.services.stats_past reads whole.

A group's oldest overdue action on the day is the earlier of: the first met by the walk of
today's overdue actions in due-date order (stats_tallied.oldest_overdue), passing over those
whose current state began after c (it did not hold then); and the oldest of its ENDED states
overdue then. The walk looks only for the groups that have such an action today.

Only filters the tallies hold (statuses) and the groups of a few keys are answered here; the
others read the states that held (stats_past), but by report (app.services.stats_by_report_past,
the same principle written straight to JSON).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select

from app.db import Reader
from app.schemas.filters import ActionFilters
from app.schemas.stats import StatsGroupBy
from app.services import tallies
from app.services.action_filters import A, filter_conditions, filter_values
from app.services.as_of import ENDED, RECENT, is_past, on_states_of
from app.services.overdue_rule import ACTIVE_STATUSES, OVERDUE
from app.services.stats_groups import STATUSES
from app.services.stats_past import decode_oldest, figures_statement
from app.services.stats_tallied import (
    Overdue,
    SummaryCounts,
    not_yet_due,
    oldest_overdue,
    withdrawn_findings,
)

_ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
_COMPLETED = "completed"
_DIMENSION = {
    StatsGroupBy.STATUS: "status",
    StatsGroupBy.OWNER: "owner",
    StatsGroupBy.PRIORITY: "priority",
    StatsGroupBy.RAG: "rag",
    StatsGroupBy.FORCE: "force",
    StatsGroupBy.PILLAR: "pillar",
}


def answers(*, filters: ActionFilters, as_of: date, group_by: StatsGroupBy | None) -> bool:
    """Whether this past day's answer is made here (group_by None: the overdue summary)."""
    if not is_past(as_of) or (group_by is not None and group_by not in _DIMENSION):
        return False
    shape, _ = filter_values(filters=filters, as_of=as_of)
    return set(shape) <= {"statuses"}


class Part(NamedTuple):
    """Per group, over a set of states: counts per status, overdue, oldest overdue (encoded),
    completed on time by the original and by the revised due date."""

    counts: dict[Any, dict[str, int]]
    overdue: dict[Any, int]
    oldest: dict[Any, Any]
    on_time: dict[Any, tuple[int, int]]


def part(
    db: Reader, shape: tuple[str, ...], group_by: StatsGroupBy, params: dict[str, Any], which: str
) -> Part:
    """The figures per group over the `which` states (RECENT or ENDED) of the day in
    `params`."""
    found = Part({}, {}, {}, {})
    # The current states begun since count against today's figures; their oldest is not read.
    statement = on_states_of(figures_statement(shape, group_by, which == ENDED), which)
    for key, status, n, overdue, oldest, on_original, on_revised in db.execute(statement, params):
        found.counts.setdefault(key, dict.fromkeys(STATUSES, 0))[status] += int(n)
        found.overdue[key] = found.overdue.get(key, 0) + int(overdue)
        if oldest is not None and (key not in found.oldest or oldest < found.oldest[key]):
            found.oldest[key] = oldest
        before = found.on_time.get(key, (0, 0))
        found.on_time[key] = (before[0] + int(on_original), before[1] + int(on_revised))
    return found


class Disagreement(Exception):
    """Today's figures and the states disagree (an action's row changed without its state, as
    only a write outside the services could): the answer is read from the states alone."""


def skipped_ids(db: Reader, active: tuple[str, ...], params: dict[str, Any]) -> frozenset[int]:
    """The actions overdue on the day by their current state, begun after it: the walk of
    today's overdue actions passes over them."""
    return frozenset(db.scalars(_skipped_statement(active), params))


# Statements built once per shape and rewritten to the states once (as_of caches the rewrite
# by statement: one built per request would never be found again, and would push out those
# that are).
@lru_cache(maxsize=16)
def _skipped_statement(active: tuple[str, ...]) -> Any:
    return on_states_of(select(A.id).where(A.status.in_(active), OVERDUE), RECENT)


@lru_cache(maxsize=64)
def _due_soon_statements(shape: tuple[str, ...]) -> tuple[Any, Any, Any]:
    """Today's count of the actions due between `soon_from` and `soon_to`, and the same over
    the states begun since the day (RECENT) and ended since (ENDED)."""
    window = A.due_date.between(
        bindparam("soon_from", type_=A.due_date.type), bindparam("soon_to", type_=A.due_date.type)
    )
    count = select(func.count()).where(*filter_conditions(shape), window)
    return count, on_states_of(count, RECENT), on_states_of(count, ENDED)


def figures(
    *,
    db: Reader,
    filters: ActionFilters,
    group_by: StatsGroupBy,
    as_of: date,
    with_oldest: bool = True,
) -> tuple[dict[Any, dict[str, int]], dict[Any, Overdue], dict[Any, tuple[int, int]]]:
    """Per group: the counts per status, the overdue figures (groups with none left out; the
    oldest action None without `with_oldest`) and the on-time figures, as at the end of
    `as_of` (a past day), of the actions of `filters.statuses` (every status when empty)."""
    shape, params = filter_values(filters=filters, as_of=as_of)
    wanted = filters.statuses or STATUSES
    active = tuple(status for status in _ACTIVE if status in wanted)
    tallied = tallies.read(db, _DIMENSION[group_by])
    pending = not_yet_due(db, group_by, active, as_of) if active else {}
    recent = part(db, shape, group_by, params, RECENT)
    ended = part(db, shape, group_by, params, ENDED)
    counts: dict[Any, dict[str, int]] = {}
    late: dict[Any, int] = {}
    late_now: set[Any] = set()
    on_time: dict[Any, tuple[int, int]] = {}
    none = dict.fromkeys(STATUSES, 0)
    for key in {**tallied, **recent.counts, **ended.counts}:
        group = tallied.get(key)
        gone, came = recent.counts.get(key, none), ended.counts.get(key, none)
        per_status = {
            status: (group.counts[status] if group and status in wanted else 0)
            - gone[status]
            + came[status]
            for status in STATUSES
        }
        if not any(per_status.values()):
            continue
        counts[key] = per_status
        held_now = sum(group.dated[status] for status in active) if group else 0
        still = held_now - pending.get(key, 0) - recent.overdue.get(key, 0)
        if still:
            late_now.add(key)
        if still + ended.overdue.get(key, 0):
            late[key] = still + ended.overdue.get(key, 0)
        today = (0, 0)
        if group and _COMPLETED in wanted:
            today = (group.on_time_original, group.on_time_revised)
        less, more = recent.on_time.get(key, (0, 0)), ended.on_time.get(key, (0, 0))
        on_time[key] = (today[0] - less[0] + more[0], today[1] - less[1] + more[1])
    if not with_oldest or not late:
        return counts, {key: Overdue(n, as_of, None) for key, n in late.items()}, on_time
    walked: dict[Any, tuple[date, int]] = {}
    if late_now:
        skipped = skipped_ids(db, active, params)
        withdrawn = withdrawn_findings(db)
        walked = oldest_overdue(db, group_by, active, as_of, withdrawn, late_now, skipped=skipped)
    overdue: dict[Any, Overdue] = {}
    for key, n in late.items():
        candidates = [walked[key]] if key in walked else []
        if key in ended.oldest:
            candidates.append(decode_oldest(ended.oldest[key]))
        if not candidates:  # the tallies count an overdue action no state shows
            raise Disagreement(f"stats by {group_by} on {as_of}: group {key!r}")
        overdue[key] = Overdue(n, *min(candidates))
    return counts, overdue, on_time


def summary_counts(
    *, db: Reader, filters: ActionFilters, as_of: date, due_within: int | None
) -> SummaryCounts:
    """The overdue summary's counts on a past day for the active statuses of `filters`:
    checked and overdue per priority by `figures`; due soon, today's short range of
    ix_action_status_due_date less RECENT plus ENDED."""
    counts, late, _ = figures(
        db=db, filters=filters, group_by=StatsGroupBy.PRIORITY, as_of=as_of, with_oldest=False
    )
    checked = sum(sum(per_status.values()) for per_status in counts.values())
    overdue = {priority: late[priority].overdue for priority in sorted(late)}
    due_soon = None
    if due_within is not None:
        shape, params = filter_values(filters=filters, as_of=as_of)
        params.update(soon_from=as_of, soon_to=as_of + timedelta(days=due_within))
        now, begun, ended = _due_soon_statements(shape)
        due_soon = (
            int(db.scalar(now, params) or 0)
            - int(db.scalar(begun, params) or 0)
            + int(db.scalar(ended, params) or 0)
        )
    return SummaryCounts(checked, overdue, due_soon)
