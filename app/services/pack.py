"""The committee pack gathered from the database, then rendered (app.services.pack_xlsx,
app.services.pack_html).

A pack is for a selection a committee follows (a report, a force, a programme): the action
list's filters. It reads, in the caller's one read transaction (a snapshot, so that its parts
agree):

- the items through the list's read path (app.services.action_reads), a batch at a time in
  id order (a report's findings in their order). A pack is made in memory, so a selection of
  more than AFI_MAX_PACK_ITEMS actions (5,000) is refused, counted before anything is read;
- RAG counts per report of the same actions, by one GROUP BY;
- the trend (app.services.trend): month by month over the twelve months to the pack's day;
- the changes (app.services.changes) from `since` to the pack's day. `since` defaults to the
  first day of the calendar quarter before the pack's: committees meet quarterly, and from
  there the pack covers everything since the last meeting, whenever in the quarter either
  was held (at the cost of repeating some of what the last pack showed).

The pack's day is the filters' `as_of`, else today. On an earlier day everything is as it stood
at the end of that day, rebuilt from the history as the list does it (app.services.as_of): the
items (status, owner, due dates, RAG, % complete, last progress, the finding's withdrawal, and
the progress note and revisions of app.services.past_progress) and the RAG counts; the trend
ends and the changes stop on that day. Only titles and references are today's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, func, select

from app import clock
from app.db import Reader
from app.enums import FindingKind
from app.errors import InvalidInput
from app.models import Owner
from app.schemas.filters import ActionFilters, ActionSort
from app.schemas.pack import (
    PRIORITY_LABELS,
    RAG_LABELS,
    STATUS_LABELS,
    Pack,
    PackFigures,
    PackFormat,
    PackItem,
    ReportRag,
)
from app.schemas.trend import TrendInterval
from app.services import changes, trend
from app.services.action_filters import A, R, filter_conditions, filter_values
from app.services.action_reads import count_actions, fetch_batch
from app.services.as_of import at_day
from app.services.pack_html import render_html
from app.services.pack_xlsx import render_xlsx
from app.settings import get_settings

TITLE = "Committee pack"
TREND_INTERVAL = TrendInterval.MONTH
TREND_MONTHS = 12
_BATCH = 500


class PackTooLarge(InvalidInput):
    """422: the filters select more actions than one pack holds."""

    title = "Pack too large"

    def __init__(self, *, actions: int, limit: int) -> None:
        super().__init__(
            f"The filters select {actions} actions; a pack holds at most {limit} "
            "(AFI_MAX_PACK_ITEMS). Narrow the filters (a report, a force, a programme).",
            actions=actions,
            limit=limit,
        )


class SinceAfterPackDay(InvalidInput):
    def __init__(self, *, since: date, as_of: date) -> None:
        message = f"since ({since.isoformat()}) is after the pack's day ({as_of.isoformat()})"
        super().__init__(
            f"Invalid value for: since ({message}).",
            field="since",
            location="query",
            message=message,
        )


def _check_one_day_filters(filters: ActionFilters) -> None:
    """overdue and stale judge the actions on one day; the trend and the changes of a pack
    judge them on many (422, as from /stats/trend and /changes)."""
    for name in ("overdue", "stale"):
        if getattr(filters, name) is not None:
            raise InvalidInput(
                f"{name} judges the actions on one day; a pack's trend and changes cover "
                "many. Leave it out.",
                field=name,
                location="query",
            )


def previous_quarter_start(day: date) -> date:
    """The first day of the calendar quarter before the one `day` is in."""
    quarter = (day.month - 1) // 3
    if quarter == 0:
        return date(day.year - 1, 10, 1)
    return date(day.year, 3 * (quarter - 1) + 1, 1)


def trend_start(day: date) -> date:
    """The first day of the month TREND_MONTHS - 1 months before `day`'s: twelve months."""
    months = day.year * 12 + day.month - 1 - (TREND_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


@lru_cache(maxsize=64)
def _rag_statement(shape: tuple[str, ...]) -> Select[Any]:
    return (
        select(A.report_id, A.rag, func.count())
        .where(*filter_conditions(shape))
        .group_by(A.report_id, A.rag)
    )


def _rag_counts(db: Reader, filters: ActionFilters, as_of: date) -> dict[int, dict[str, int]]:
    """Report id -> RAG (`not_assessed` for none) -> actions."""
    shape, params = filter_values(filters=filters, as_of=as_of)
    counts: dict[int, dict[str, int]] = {}
    for report_id, rag, n in db.execute(at_day(_rag_statement(shape), as_of), params):
        counts.setdefault(report_id, {})[rag or "not_assessed"] = int(n)
    return counts


def _report_titles(db: Reader, report_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(report_ids))
    titles: dict[int, str] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        titles.update(db.execute(select(R.id, R.title).where(R.id.in_(chunk))).all())
    return titles


def _actions(db: Reader, filters: ActionFilters, as_of: date) -> Iterator[dict[str, Any]]:
    """Every selected action as the list reads it, a batch at a time in id order."""
    after = None
    while True:
        batch, after = fetch_batch(
            db=db, filters=filters, sort=ActionSort.ID, as_of=as_of, after=after, limit=_BATCH
        )
        yield from batch
        if after is None:
            return


def _item(action: dict[str, Any], report: str) -> PackItem:
    owner = action["owner"]
    return PackItem(
        action_id=action["id"],
        reference=action["reference"],
        title=action["title"],
        report=report,
        owner=None if owner is None else owner["name"],
        status=action["status"],
        priority=action["priority"],
        original_due_date=action["original_due_date"],
        due_date=action["due_date"],
        due_date_revisions=action["due_date_revisions"],
        rag=action["rag"],
        percent_complete=action["percent_complete"],
        last_progress_at=action["last_progress_at"],
        progress_note=action["progress_note"],
        days_overdue=action["days_overdue"],
        stale=action["stale"],
    )


def _scope(db: Reader, filters: ActionFilters) -> tuple[tuple[str, str], ...]:
    """The filters in words, for the pack's heading (owner and report by name)."""

    def listed(values: tuple[str, ...], labels: dict[str, str]) -> str:
        return ", ".join(labels.get(value, value) for value in values)

    def yes_no(value: bool) -> str:
        return "yes" if value else "no"

    scope: list[tuple[str, str]] = []
    if filters.report_id is not None:
        titles = _report_titles(db, [filters.report_id])
        scope.append(("Report", titles.get(filters.report_id, f"#{filters.report_id}")))
    for what, value in (
        ("Force", filters.force),
        ("Programme", filters.programme),
        ("Year", filters.year),
        ("Pillar", filters.pillar),
    ):
        if value:
            scope.append((what, value))
    if filters.kind:
        scope.append(("Finding kind", FindingKind(filters.kind).replace("_", " ")))
    if filters.statuses:
        scope.append(("Status", listed(filters.statuses, STATUS_LABELS)))
    if filters.priorities:
        scope.append(("Priority", listed(filters.priorities, PRIORITY_LABELS)))
    if filters.rags:
        scope.append(("RAG", listed(filters.rags, RAG_LABELS)))
    if filters.owner_id is not None:
        name = db.scalar(
            select(Owner.__table__.c.name).where(Owner.__table__.c.id == filters.owner_id)
        )
        scope.append(("Owner", name or f"#{filters.owner_id}"))
    if filters.unassigned is not None:
        scope.append(("Owner", "none" if filters.unassigned else "any"))
    if filters.overdue is not None:
        scope.append(("Overdue", yes_no(filters.overdue)))
    if filters.stale is not None:
        scope.append(("Stale", yes_no(filters.stale)))
    if filters.due_before is not None:
        scope.append(("Due before", filters.due_before.isoformat()))
    if filters.due_after is not None:
        scope.append(("Due after", filters.due_after.isoformat()))
    if filters.q:
        scope.append(("Search", filters.q))
    return tuple(scope)


def build_pack(*, db: Reader, filters: ActionFilters, since: date | None, today: date) -> Pack:
    """The pack for the actions `filters` select, as on `filters.as_of` (else `today`), with
    the changes from `since` (default: previous_quarter_start). 422 when `since` is after the
    pack's day or the selection is larger than AFI_MAX_PACK_ITEMS."""
    settings = get_settings()
    _check_one_day_filters(filters)
    as_of = filters.as_of or today
    since = previous_quarter_start(as_of) if since is None else since
    if since > as_of:
        raise SinceAfterPackDay(since=since, as_of=as_of)
    selected = count_actions(db=db, filters=filters, as_of=as_of)
    if selected > settings.max_pack_items:
        raise PackTooLarge(actions=selected, limit=settings.max_pack_items)
    actions = list(_actions(db, filters, as_of))
    rag_counts = _rag_counts(db, filters, as_of)
    titles = _report_titles(db, [*rag_counts, *(action["report_id"] for action in actions)])
    rag_by_report = sorted(
        (
            ReportRag(
                report_id=report_id,
                report=titles.get(report_id, f"#{report_id}"),
                red=counts.get("red", 0),
                amber=counts.get("amber", 0),
                green=counts.get("green", 0),
                not_assessed=counts.get("not_assessed", 0),
            )
            for report_id, counts in rag_counts.items()
        ),
        key=lambda report: (report.report.casefold(), report.report_id),
    )
    # The trend and the changes have days of their own: the pack's day is their last.
    over_time = replace(filters, as_of=None)
    figures = PackFigures(
        trend=trend.trend(
            db=db, filters=over_time, interval=TREND_INTERVAL, start=trend_start(as_of), end=as_of
        ),
        rag_by_report=tuple(rag_by_report),
    )
    return Pack(
        title=TITLE,
        scope=_scope(db, filters),
        as_of=as_of,
        generated_at=clock.utcnow(),
        tz=settings.tz,
        items=tuple(
            _item(action, titles.get(action["report_id"], f"#{action['report_id']}"))
            for action in actions
        ),
        # Up to the pack's cap, the oldest: one page that size (its cursor says if there are
        # more, and the pack says so: Pack.changes_left_out).
        changes=changes.changes(
            db=db, filters=over_time, since=since, until=as_of, limit=changes.MAX_CHANGES
        ),
        figures=figures,
    )


def make_pack(
    *, db: Reader, filters: ActionFilters, since: date | None, today: date, output: PackFormat
) -> bytes:
    """The pack (see build_pack) as a workbook or as a UTF-8 HTML page."""
    pack = build_pack(db=db, filters=filters, since=since, today=today)
    if output is PackFormat.XLSX:
        return render_xlsx(pack)
    return render_html(pack).encode("utf-8")
