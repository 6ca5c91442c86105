"""Every documented list shape reads the action table through an index or in its sort's order,
stopping at the page's end: never a scan of the whole table followed by a sort.

Checked with SQLite's EXPLAIN QUERY PLAN on a database of its own (whatever the suite runs on:
the plans are SQLite's), for page 1 and a page after a cursor of each filter and each sort. The
planner is given the statistics ANALYZE gathered on the benchmark's million actions (bench/), so
that it plans as it would for a national register, not for an empty table (tests/plans_db.py).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, update
from sqlalchemy.orm import Session

from app.models import Action, Report
from app.principal import system
from app.schemas.filters import ActionFilters, ActionSort, HistorySort
from app.schemas.stats import StatsGroupBy
from app.schemas.trend import TrendInterval
from app.services import action_reads, history, overdue, stats, stats_tallied, trend
from app.services.cursors import Position, encode_history_cursor
from app.services.reports import import_text
from tests.plans_db import (
    SCANS_ACTIONS,
    QueryPlan,
    action_reads_in,
    columns_read,
    plan_text,
    plans_of,
    sorts_what_it_read,
)

AS_OF = date(2030, 1, 15)
# Filters that select few actions are looked up through an index (and the few sorted); the
# others are read in the sort's order until the page is full. The fixture's reports make
# Kent rare and PEEL, 2020 and Legitimacy common.
POINTED = {
    "owner_id": ActionFilters(owner_id=3),
    "report_id": ActionFilters(report_id=3),
    "force": ActionFilters(force="kent"),
    "force and year": ActionFilters(force="kent", year="2020"),
    "q": ActionFilters(q="vetting"),
}
READ_IN_ORDER = {
    "status": ActionFilters(statuses=("blocked",)),
    "statuses": ActionFilters(statuses=("open", "in_progress")),
    "priority": ActionFilters(priorities=("critical",)),
    "unassigned": ActionFilters(unassigned=True),
    "assigned": ActionFilters(unassigned=False),
    "year": ActionFilters(year="2020"),
    "programme": ActionFilters(programme="peel"),
    "pillar": ActionFilters(pillar="legitimacy"),
    "kind": ActionFilters(kind="cause_of_concern"),
    "overdue": ActionFilters(overdue=True),
    "not overdue": ActionFilters(overdue=False),
    "due_before": ActionFilters(due_before=AS_OF),
    "due_after": ActionFilters(due_after=AS_OF),
    "rag": ActionFilters(rags=("red",)),
    "rags": ActionFilters(rags=("amber", "red")),
    "stale": ActionFilters(stale=True),
    "not stale": ActionFilters(stale=False),
}
SHAPES = (
    [(name, filters, ActionSort.ID, True) for name, filters in POINTED.items()]
    + [(name, filters, ActionSort.ID, False) for name, filters in READ_IN_ORDER.items()]
    + [
        (f"sort={sort.value}", ActionFilters(), sort, False)
        for sort in ActionSort
        if sort.field != "relevance"
    ]
    # Relevance needs a search, and comes from the search's index.
    + [
        (f"sort={sort.value}", POINTED["q"], sort, True)
        for sort in ActionSort
        if sort.field == "relevance"
    ]
)
_KEYS = {
    "id": None,
    "due_date": AS_OF,
    "priority": 2,
    "updated_at": None,
    "reference": "CUM-1",
    "days_overdue": 3,
    "relevance": -1.5,
}


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize(
    ("name", "filters", "sort", "pointed"), SHAPES, ids=[shape[0] for shape in SHAPES]
)
def test_every_list_shape_reads_through_an_index_or_in_order(
    sqlite_engine: Engine,
    name: str,
    filters: ActionFilters,
    sort: ActionSort,
    pointed: bool,
    after: bool,
) -> None:
    key = _KEYS[sort.field]
    if sort.field == "updated_at":
        key = action_reads.clock.utcnow()
    position = Position(key, 1000) if after else None

    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection, filters=filters, sort=sort, as_of=AS_OF, after=position, limit=50
        )

    plans = plans_of(sqlite_engine, page)
    assert any("action" in plan_text(plan) for plan in plans)
    for plan in plans:
        for lines in action_reads_in(plan):
            if pointed:
                # Looked up through an index, never a scan of the table.
                assert not any(map(SCANS_ACTIONS.match, lines)), plan_text(plan)
            else:
                # Read in the sort's order and stopped at the page's end: nothing to sort.
                assert not sorts_what_it_read(lines), plan_text(plan)
    if after and not pointed and sort.field == "due_date":
        # From the cursor, not from the index's start: SQLite seeks an index on an expression
        # by the expression alone, so the rest of the cursor's date is read apart (1.6 s for
        # page 20 of `year=2020` at 1M actions, every action before the cursor read).
        text = "\n".join(plan_text(plan) for plan in plans)
        beyond = "<" if sort.descending else ">"
        assert f"ix_action_due_date_sort (<expr>=? AND id{beyond}?)" in text, text


def test_the_check_sees_a_whole_table_sort(sqlite_engine: Engine) -> None:
    # What the test above refuses: every unassigned action found and then sorted.
    def collect_then_sort(connection: Connection) -> None:
        query = "SELECT id FROM action WHERE owner_id IS NULL ORDER BY due_date LIMIT 50"
        connection.exec_driver_sql(query).all()

    (plan,) = plans_of(sqlite_engine, collect_then_sort)
    (lines,) = action_reads_in(plan)
    assert sorts_what_it_read(lines)


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize("sort", list(HistorySort), ids=[sort.value for sort in HistorySort])
def test_a_history_page_reads_the_actions_events_in_order_through_its_index(
    sqlite_engine: Engine, sort: HistorySort, after: bool
) -> None:
    cursor = encode_history_cursor(action_id=7, sort=sort, last_id=1000) if after else None

    def page(connection: Connection) -> None:
        history.events_page(db=connection, action_id=7, sort=sort, limit=50, cursor=cursor)

    (plan,) = plans_of(sqlite_engine, page)
    (lines,) = plan.values()
    bound = " AND id<?" if sort.descending else " AND id>?"
    assert lines == [
        f"SEARCH action_event USING INDEX ix_action_event_action_id_id (action_id=?"
        f"{bound if after else ''})"
    ], plan_text(plan)


def test_the_revision_count_on_a_page_reads_only_the_event_index(sqlite_engine: Engine) -> None:
    # Each row of a page counts its due-date revisions: from (action_id, kind) alone, never
    # the events themselves (an action may have hundreds).
    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection,
            filters=ActionFilters(),
            sort=ActionSort.ID,
            as_of=AS_OF,
            after=None,
            limit=50,
        )

    plans = plans_of(sqlite_engine, page)
    text = "\n".join(plan_text(plan) for plan in plans)
    assert "action_event USING COVERING INDEX ix_action_event_action_id_kind" in text, text


@pytest.mark.parametrize("statuses", [(), ("open", "completed")], ids=["all", "two statuses"])
@pytest.mark.parametrize(
    ("group_by", "index"),
    [
        (StatsGroupBy.REPORT, "ix_action_report_overdue"),
        (StatsGroupBy.STALE, "ix_action_active_progress"),
    ],
)
def test_todays_stats_by_report_and_stale_seek_their_partial_index(
    sqlite_engine: Engine, group_by: StatsGroupBy, index: str, statuses: tuple[str, ...]
) -> None:
    # Each report's oldest overdue action is a seek in its range of the index; the actions
    # not stale, a range at its end: no statement reads every action (or every active one).
    # With no action overdue nothing is sought: one is made overdue (and not stale).
    def stats(connection: Connection) -> None:
        stats_tallied.figures(db=connection, statuses=statuses, group_by=group_by, as_of=AS_OF)

    with Session(sqlite_engine) as session, session.begin():
        report = import_text(
            session=session,
            raw="Kent PEEL 2019/20\nAreas for improvement\n- The force should improve it.\n",
            metadata={},
            actor=system("tests"),
        ).report
        session.execute(
            update(Action)
            .where(Action.report_id == report.id)
            .values(status="open", due_date=date(2029, 1, 1), last_progress_at=datetime.now(UTC))
        )
        report_id = report.id
    try:
        plans = plans_of(sqlite_engine, stats)
    finally:
        with sqlite_engine.begin() as connection:
            connection.execute(delete(Report).where(Report.id == report_id))
    text = "\n".join(plan_text(plan) for plan in plans)
    assert f"USING COVERING INDEX {index} (" in text, text
    assert not re.search(r"^SCAN action\b", text, re.MULTILINE), text


PAST = date(2020, 1, 15)


@pytest.mark.parametrize(
    "answer",
    [
        *(
            pytest.param(
                lambda c, g=group_by: stats.action_stats(
                    db=c, filters=ActionFilters(as_of=PAST), group_by=g
                ),
                id=f"stats by {group_by.value}",
            )
            for group_by in (StatsGroupBy.STATUS, StatsGroupBy.OWNER, StatsGroupBy.FORCE)
        ),
        pytest.param(
            lambda c: overdue.summary(
                db=c, filters=ActionFilters(as_of=PAST), as_of=PAST, due_within=None
            ),
            id="overdue summary",
        ),
        pytest.param(
            lambda c: trend.trend(
                db=c,
                filters=ActionFilters(),
                interval=TrendInterval.MONTH,
                start=date(2019, 1, 1),
                end=PAST,
            ),
            id="trend",
        ),
    ],
)
def test_a_past_days_answers_read_the_states_that_held_from_their_covering_index(
    sqlite_engine: Engine, answer: Any
) -> None:
    # Counts over every state that held on a day: one range of ix_action_state_held, which
    # holds every column they read, never the whole table or a lookup per state.
    plans = plans_of(sqlite_engine, answer)
    text = "\n".join(plan_text(plan) for plan in plans)
    assert re.search(r"SEARCH \w*state USING COVERING INDEX ix_action_state_held \(valid_to>", text)
    assert not re.search(r"SCAN \w*state\b", text), text
    held = [line for line in text.splitlines() if "ix_action_state_held" in line]
    assert all("COVERING" in line for line in held), text


def test_a_page_of_changes_reads_the_newly_overdue_in_order(sqlite_engine: Engine) -> None:
    """The actions newly overdue in a window come from ix_action_state_due_date in (due date,
    action) order, from the page's position on: never every state that held, sorted."""
    from app.services import changes

    filters = ActionFilters()
    since, until = date(2029, 10, 1), date(2029, 12, 31)
    first = changes.changes  # a first page, then one after a cursor of each origin

    def pages(connection: Connection) -> None:
        page = first(db=connection, filters=filters, since=since, until=until, limit=1)
        first(db=connection, filters=filters, since=since, until=until, cursor=page.next_cursor)

    for plan in plans_of(sqlite_engine, pages):
        text = plan_text(plan)
        if "action_state" in text:
            assert "ix_action_state_due_date (due_date>? AND due_date<?)" in text, text
            assert "TEMP B-TREE" not in text, text
        else:
            assert "TEMP B-TREE" not in text, text


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize(
    "sort", [ActionSort.DAYS_OVERDUE_DESC, ActionSort.DAYS_OVERDUE], ids=["-days", "days"]
)
def test_a_past_days_page_by_days_overdue_reads_the_states_in_due_date_order(
    sqlite_engine: Engine, sort: ActionSort, after: bool
) -> None:
    # The overdue states that held are read from ix_action_state_due_date in due-date order
    # (only the ids of one due date sorted among themselves) and stop at the page's end: never
    # every overdue state of the day collected and sorted (1.5 s at 1M actions).
    position = Position(3, 1000) if after else None

    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection,
            filters=ActionFilters(overdue=True),
            sort=sort,
            as_of=PAST,
            after=position,
            limit=50,
        )

    plans = plans_of(sqlite_engine, page)
    text = "\n".join(plan_text(plan) for plan in plans)
    walked = [
        lines
        for plan in plans
        for lines in plan.values()
        if any("ix_action_state_due_date (due_date" in line for line in lines)
    ]
    assert walked, text
    assert not any(sorts_what_it_read(lines) for lines in walked), text


_WALKED_INDEXES = {
    "days_overdue": "ix_action_state_due_date (due_date",
    "due_date": "action_state USING INDEX ix_action_state_due_sort",
    "priority": "action_state USING INDEX ix_action_state_priority_rank",
}


@pytest.mark.parametrize(
    "sort",
    [ActionSort.DAYS_OVERDUE_DESC, ActionSort.DUE_DATE, ActionSort.PRIORITY_DESC],
    ids=lambda sort: sort.value,
)
@pytest.mark.parametrize(
    ("force", "walks"), [("Kent", False), ("Force 1", True)], ids=["one report", "three reports"]
)
def test_a_past_days_page_in_a_states_order_collects_when_report_filters_match_few_reports(
    sqlite_engine: Engine, force: str, walks: bool, sort: ActionSort
) -> None:
    # Report filters that leave 1 of 100 reports leave so few states that a walk in the sort's
    # order would read most of the index to fill a page (14 s at 1M against 3 s): they are
    # collected and sorted, as an owner or a report id are; 3 of 100 are not few.
    overdue = sort.field == "days_overdue"

    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection,
            filters=ActionFilters(overdue=True if overdue else None, force=force),
            sort=sort,
            as_of=PAST,
            after=None,
            limit=50,
        )

    text = "\n".join(plan_text(plan) for plan in plans_of(sqlite_engine, page))
    assert (_WALKED_INDEXES[sort.field] in text) is walks, text


def _past_page_plans(
    engine: Engine, filters: ActionFilters, sort: ActionSort, position: Position | None
) -> list[QueryPlan]:
    """The plans of a page of 50 on PAST, after `position`."""

    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection, filters=filters, sort=sort, as_of=PAST, after=position, limit=50
        )

    return plans_of(engine, page)


_SORT_INDEXES = {
    "due_date": "ix_action_state_due_sort",
    "priority": "ix_action_state_priority_rank",
}


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize(
    "sort",
    [ActionSort.DUE_DATE, ActionSort.DUE_DATE_DESC, ActionSort.PRIORITY, ActionSort.PRIORITY_DESC],
    ids=lambda sort: sort.value,
)
@pytest.mark.parametrize(
    "filters",
    [
        ActionFilters(),
        ActionFilters(statuses=("open",)),
        ActionFilters(priorities=("high",)),
        ActionFilters(programme="peel"),
        ActionFilters(due_before=date(2019, 1, 1)),
    ],
    ids=["no filter", "status", "priority", "programme", "due_before"],
)
def test_a_past_days_page_by_due_date_or_priority_walks_the_states_in_that_order(
    sqlite_engine: Engine, filters: ActionFilters, sort: ActionSort, after: bool
) -> None:
    # The states in the sort's order from the index that holds them so (migration 0032), from
    # the page's position, those that held kept, to the page's end: never every state that
    # held (a range of ix_action_state_held) joined and sorted (7 to 14 s at 1M actions).
    key: Any = date(2019, 6, 1) if sort.field == "due_date" else 2
    position = Position(key, 1000) if after else None

    plans = _past_page_plans(sqlite_engine, filters, sort, position)
    text = "\n".join(plan_text(plan) for plan in plans)
    walked = [
        lines
        for plan in plans
        for lines in plan.values()
        if any(f"action_state USING INDEX {_SORT_INDEXES[sort.field]}" in line for line in lines)
    ]
    assert walked, text
    assert not any(sorts_what_it_read(lines) for lines in walked), text
    assert "ix_action_state_held" not in text, text
    # A filter on the sort's key bounds the walk: it starts at the first match.
    if sort.field == "priority" and filters.priorities and not after:
        assert "ix_action_state_priority_rank (priority_rank=?)" in text, text
    if sort.field == "due_date" and filters.due_before and sort.descending:
        assert re.search(r"ix_action_state_due_sort \((<expr>>\? AND )?<expr><\?\)", text), text
    # After a cursor by due date: the rest of the cursor's date from the pair, then the dates
    # beyond it; not every state of the cursor's date before it read again.
    if sort.field == "due_date" and after:
        beyond = "<" if sort.descending else ">"
        assert f"ix_action_state_due_sort (<expr>=? AND action_id{beyond}?)" in text, text
        assert f"ix_action_state_due_sort (<expr>{beyond}?" in text, text  # the later dates


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize(
    "sort",
    [ActionSort.DAYS_OVERDUE_DESC, ActionSort.DUE_DATE, ActionSort.PRIORITY_DESC],
    ids=lambda sort: sort.value,
)
def test_a_past_days_walk_in_a_states_order_tests_the_report_in_its_index(
    sqlite_engine: Engine, sort: ActionSort, after: bool
) -> None:
    # Report filters matching too many reports to collect (a force) are tested on each state
    # the walk passes: in the walked index, which holds the report (migration 0033), rather
    # than in the table, so that the states of other reports are never read from it (Kent, 2.3%
    # of reports at 1M actions: page 20 by due date 28 ms, by days overdue 30 to 110).
    overdue = sort.field == "days_overdue"
    key: Any = 3 if overdue else date(2019, 6, 1) if sort.field == "due_date" else 2
    position = Position(key, 1000) if after else None

    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection,
            filters=ActionFilters(overdue=True if overdue else None, force="Force 1"),
            sort=sort,
            as_of=PAST,
            after=position,
            limit=50,
        )

    index = {"days_overdue": "ix_action_state_due_date", **_SORT_INDEXES}[sort.field]
    reads = set().union(*columns_read(sqlite_engine, page))
    assert (index, "report_id") in reads, sorted(reads)


_OWN_INDEXES = {
    "owner": (
        "ix_action_state_owner_id",
        "ix_action_state_owner_due",
        "ix_action_state_owner_due_sort",
        "ix_action_state_owner_priority",
    ),
    "report": ("ix_action_state_report",),
}


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize(
    "sort",
    [
        ActionSort.ID,
        ActionSort.ID_DESC,
        ActionSort.DAYS_OVERDUE_DESC,
        ActionSort.DAYS_OVERDUE,
        ActionSort.DUE_DATE,
        ActionSort.PRIORITY_DESC,
    ],
    ids=lambda sort: sort.value,
)
@pytest.mark.parametrize(
    ("whose", "filters"),
    [
        ("owner", ActionFilters(owner_id=3)),
        ("owner", ActionFilters(owner_id=3, statuses=("open", "in_progress"))),
        ("report", ActionFilters(report_id=3)),
        ("report", ActionFilters(report_id=3, statuses=("blocked",))),
    ],
    ids=["owner", "owner and statuses", "report", "report and status"],
)
def test_a_past_days_page_of_one_owner_or_report_reads_only_their_states(
    sqlite_engine: Engine, whose: str, filters: ActionFilters, sort: ActionSort, after: bool
) -> None:
    # The states that held for one owner or one report come from the index that starts with
    # the owner or the report (migrations 0024, 0027); never every state that held (a range of
    # ix_action_state_held) nor every action walked in id order and joined to its state
    # (150 ms to 2 s at 1M actions). An owner's overdue ones are read in due-date order, and by
    # due date or priority the owner's states in that order.
    keys = {"days_overdue": 3, "due_date": date(2019, 6, 1), "priority": 2}
    position = Position(keys.get(sort.field), 1000) if after else None

    plans = _past_page_plans(sqlite_engine, filters, sort, position)
    text = "\n".join(plan_text(plan) for plan in plans)
    ids_steps = [
        lines
        for plan in plans
        for parent, lines in plan.items()
        if parent != 0 and any(re.match(r"SEARCH action_state USING", line) for line in lines)
    ]
    assert ids_steps, text
    for lines in ids_steps:
        used = [line for line in lines if line.startswith("SEARCH action_state USING")]
        assert all(any(index in line for index in _OWN_INDEXES[whose]) for line in used), text
    assert "ix_action_state_held" not in text, text
    assert not re.search(
        r"(SCAN|SEARCH) action USING COVERING INDEX ix_action_id_filters\b(?! \(id=)", text
    ), text
    if sort.field == "due_date" and after and whose == "owner":
        pair = "owner_id=? AND <expr>=? AND action_id>?"
        assert f"ix_action_state_owner_due_sort ({pair})" in text, text
    overdue_first = sort is ActionSort.DAYS_OVERDUE_DESC and whose == "owner"
    if overdue_first:
        assert "ix_action_state_owner_due (owner_id=? AND due_date" in text, text
    # An owner's states walked in the order of the due-date or the priority sort (0032).
    in_order = {"due_date": "owner_due_sort", "priority": "owner_priority"}.get(sort.field)
    if in_order and whose == "owner":
        walked = [lines for plan in plans for lines in plan.values() if in_order in str(lines)]
        assert walked, text
        assert not any(sorts_what_it_read(lines) for lines in walked), text


@pytest.mark.parametrize(
    "filters",
    [
        ActionFilters(force="kent"),
        ActionFilters(report_id=3),
        ActionFilters(pillar="legitimacy", statuses=("open",)),
    ],
    ids=["force", "report", "pillar and status"],
)
def test_the_trend_with_report_filters_reads_only_their_reports_states(
    sqlite_engine: Engine, filters: ActionFilters
) -> None:
    # A range of ix_action_state_report per report the filters match, holding every column
    # the trend reads (migration 0027): not the range of every state that held in the trend's
    # months (1.3 million at 1M actions over 12 months), each tested against the filters.
    def answer(connection: Connection) -> None:
        trend.trend(
            db=connection,
            filters=filters,
            interval=TrendInterval.QUARTER,
            start=date(2019, 1, 1),
            end=PAST,
        )

    text = "\n".join(plan_text(plan) for plan in plans_of(sqlite_engine, answer))
    found = r"SEARCH action_state USING COVERING INDEX ix_action_state_report \(report_id=\? AND"
    assert re.search(found, text), text
    assert "ix_action_state_held" not in text, text


FORCES = {
    "force of few reports": POINTED["force"],
    "force of many reports": ActionFilters(force="force 1"),
    "force and year": POINTED["force and year"],
}


@pytest.mark.parametrize("day", [AS_OF, PAST], ids=["today", "past day"])
@pytest.mark.parametrize("sort", [ActionSort.REFERENCE, ActionSort.REFERENCE_DESC])
@pytest.mark.parametrize("name", list(FORCES))
def test_a_forces_first_page_by_reference_starts_at_its_first_reference(
    sqlite_engine: Engine, name: str, sort: ActionSort, day: date
) -> None:
    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection, filters=FORCES[name], sort=sort, as_of=day, after=None, limit=50
        )

    (text,) = [
        plan_text(plan) for plan in plans_of(sqlite_engine, page) if "page" in plan_text(plan)
    ]
    # The bound found by one seek per report in today's actions, on a past day too (not in
    # that day's states: app.services.action_pages).
    assert "SEARCH report_action USING COVERING INDEX ix_action_report_id_reference" in text, text
    assert "report_action_at" not in text, text
    if day == PAST and name != "force of many reports":
        return  # a few reports' states that held are collected (Plan.STATES)
    # Read in reference order from the bound (the unique constraint's index is SQLite's own),
    # or each report's actions from it.
    bound = "<" if sort.descending else ">"
    read_from = (
        rf"SEARCH action USING (COVERING )?INDEX \w+ \((report_id=\? AND )?reference{bound}\?\)"
    )
    assert re.search(read_from, text), text
