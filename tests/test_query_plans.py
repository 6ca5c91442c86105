"""Every documented list shape reads the action table through an index or in its sort's order,
stopping at the page's end: never a scan of the whole table followed by a sort.

Checked with SQLite's EXPLAIN QUERY PLAN on a database of its own (whatever the suite runs on:
the plans are SQLite's), for page 1 and a page after a cursor of each filter and each sort. The
planner is given the statistics ANALYZE gathered on the benchmark's million actions (bench/), so
that it plans as it would for a national register, not for an empty table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, event, insert, update
from sqlalchemy.orm import Session

from app import migrate
from app.db import DEFERRED, make_engine
from app.models import Action, Report
from app.principal import system
from app.schemas.filters import ActionFilters, ActionSort, HistorySort
from app.schemas.stats import StatsGroupBy
from app.schemas.trend import TrendInterval
from app.services import action_reads, history, overdue, stats, stats_tallied, trend
from app.services.cursors import Position, encode_history_cursor
from app.services.reports import import_text

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


# sqlite_stat1 of the benchmark's 1,000,000 actions (40,025 reports), as ANALYZE wrote it;
# ix_action_rag_status and ix_action_last_progress_at (migration 0009) as the priority index
# and as a timestamp column most actions have set; ix_action_id_filters (migration 0018) as
# ANALYZE writes a unique first column.
MILLION_ACTIONS_STATISTICS = """
action ix_action_due_date 1000000 168
action ix_action_due_date_sort 1000000 168 1
action ix_action_finding_id 1000000 1
action ix_action_owner_id_status 1000000 2494 357 2 1
action ix_action_priority_rank_id 1000000 250000 1
action ix_action_priority_status 1000000 250000 35715 8 1
action ix_action_report_id_status 1000000 25 5 1 1
action ix_action_status_due_date 1000000 142858 25 1
action ix_action_updated_at_id 1000000 1 1
action ix_action_rag_status 1000000 250000 35715 8 1
action ix_action_last_progress_at 1000000 3 1
action ix_action_id_filters 1000000 1 1 1 1 1 1 1 1 1 1
action ix_action_report_overdue 509952 13 1 1 1 1 1
action ix_action_active_progress 599921 15 6 1 1 1 1 1
action sqlite_autoindex_action_1 1000000 1
finding ix_finding_kind 1000000 333334
finding ix_finding_report_id_position 1000000 25 1
finding ix_finding_section_id 1000000 4
finding ix_finding_withdrawn 5223 1
finding sqlite_autoindex_finding_1 1000000 1
report ix_report_force 40025 931
report ix_report_force_lower 40025 931
report ix_report_pillar 40025 572
report ix_report_pillar_lower 40025 572
report ix_report_programme 40025 8005
report ix_report_programme_lower 40025 8005
report ix_report_start_year 40025 2859
report ix_report_year_label 40025 2002
report sqlite_autoindex_report_1 40025 1
action_state ix_action_state_held 3317149 2 1 1 1 1 1 1 1 1 1 1 1 1 1 1
action_state ix_action_state_action_id_valid_to 3317149 4 1
"""


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("plans") / "plans.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    rows = [tuple(line.split(" ", 2)) for line in MILLION_ACTIONS_STATISTICS.strip().splitlines()]
    now = datetime.now(UTC)
    reports = [
        {
            "force": "Kent" if number == 0 else f"Force {number % 40}",
            "programme": "PEEL" if number % 5 else "CRIME",
            "year_label": "2020" if number % 3 else "2019",
            "start_year": 2020 if number % 3 else 2019,
            "pillar": "Legitimacy" if number % 2 else "Efficiency",
            "title": f"Report {number}",
            "identity_key": f"report-{number}",
            "reference_prefix": f"R{number}",
            "source_sha256": f"{number:064d}",
            "source_text": "",
            "imported_at": now,
            "updated_at": now,
        }
        for number in range(100)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Report.__table__), reports)
        connection.exec_driver_sql("DELETE FROM sqlite_stat1")
        connection.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", rows
        )
    engine.dispose()  # connections read the statistics when they open
    yield engine
    engine.dispose()


Plan = dict[int, list[str]]  # the lines of a query plan by parent: one entry per (sub)query


def _plans(engine: Engine, call: Any) -> list[Plan]:
    """The query plan of each statement `call(connection)` sends."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with engine.connect().execution_options(**{DEFERRED: True}) as connection:
        event.listen(engine, "before_cursor_execute", record)
        try:
            call(connection)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        plans = []
        for sql, params in sent:
            plan: Plan = {}
            for _id, parent, _, line in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}", params
            ):
                plan.setdefault(parent, []).append(line)
            plans.append(plan)
        return plans


# By id: the table's own key, or the index that starts with the id (a search's matches).
_READS_ACTIONS = re.compile(
    r"(SCAN|SEARCH) action\b"
    r"(?! USING INTEGER PRIMARY KEY| USING COVERING INDEX ix_action_id_filters \(id=\?)"
)
_SCANS_ACTIONS = re.compile(r"SCAN action\b")


def _action_reads(plan: Plan) -> list[list[str]]:
    """The (sub)queries of a plan that read the action table other than by id."""
    return [lines for lines in plan.values() if any(map(_READS_ACTIONS.match, lines))]


def _sorts_what_it_read(lines: list[str]) -> bool:
    return any("TEMP B-TREE FOR ORDER BY" in line for line in lines)


def _text(plan: Plan) -> str:
    return "\n".join(line for lines in plan.values() for line in lines)


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

    plans = _plans(sqlite_engine, page)
    assert any("action" in _text(plan) for plan in plans)
    for plan in plans:
        for lines in _action_reads(plan):
            if pointed:
                # Looked up through an index, never a scan of the table.
                assert not any(map(_SCANS_ACTIONS.match, lines)), _text(plan)
            else:
                # Read in the sort's order and stopped at the page's end: nothing to sort.
                assert not _sorts_what_it_read(lines), _text(plan)


SEARCHES = {
    "q": ActionFilters(q="vetting"),
    "q and status": ActionFilters(q="vetting", statuses=("open", "blocked")),
    "q, not overdue": ActionFilters(q="vetting", overdue=False),
    "q and a common report filter": ActionFilters(q="vetting", programme="peel"),
}


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize("sort", [ActionSort.ID, ActionSort.ID_DESC], ids=["id", "-id"])
@pytest.mark.parametrize("filters", SEARCHES.values(), ids=list(SEARCHES))
def test_a_search_by_id_reads_the_full_text_index_in_order_and_stops_at_the_page_end(
    sqlite_engine: Engine, filters: ActionFilters, sort: ActionSort, after: bool
) -> None:
    # A common word matches 90,000 of a million actions: its matches are read in the index's
    # own id order (FTS5 consumes the ORDER BY and the cursor's bound), each joined to its
    # action by id, never collected and sorted first.
    position = Position(None, 1000) if after else None

    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection, filters=filters, sort=sort, as_of=AS_OF, after=position, limit=50
        )

    plans = _plans(sqlite_engine, page)
    text = "\n".join(_text(plan) for plan in plans)
    # FTS5's plan flags: 64 ordered by rowid, 128 descending; `<` or `>` the cursor's bound.
    flags = 64 + (128 if sort.descending else 0)
    bound = ("<" if sort.descending else ">") if after else ""
    searched = [
        lines
        for plan in plans
        for lines in plan.values()
        if any(line.startswith("SCAN action_search") for line in lines)
    ]
    assert searched, text
    for lines in searched:
        joined = "\n".join(lines)
        assert re.search(rf"INDEX {flags}:M\d+{re.escape(bound)}$", joined, re.MULTILINE), text
        assert not _sorts_what_it_read(lines), text
    for plan in plans:
        assert not _action_reads(plan), _text(plan)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (ActionFilters(rags=("red",)), "ix_action_rag_status"),
        (ActionFilters(statuses=("blocked",)), "ix_action_status_due_date"),
        (ActionFilters(priorities=("critical",)), "ix_action_priority_status"),
    ],
    ids=["rag", "status", "priority"],
)
def test_a_walk_first_asks_through_the_filters_index_whether_anything_matches(
    sqlite_engine: Engine, filters: ActionFilters, index: str
) -> None:
    # A walk in sort order finds its page quickly when many actions match, and reads the whole
    # table when none does (a RAG nobody has given yet): its LIMIT is 0 unless the filters'
    # index holds a match, and SQLite reads no row for a LIMIT of 0.
    def page(connection: Connection) -> None:
        action_reads.fetch_batch(
            db=connection, filters=filters, sort=ActionSort.ID, as_of=AS_OF, after=None, limit=50
        )

    plans = _plans(sqlite_engine, page)
    text = "\n".join(_text(plan) for plan in plans)
    assert re.search(rf"SEARCH action USING COVERING INDEX {index} \(\w+=\?", text), text
    assert re.search(r"^SCAN action\b(?!_)", text, re.MULTILINE), text  # the walk, in id order


def test_the_check_sees_a_whole_table_sort(sqlite_engine: Engine) -> None:
    # What the test above refuses: every unassigned action found and then sorted.
    def collect_then_sort(connection: Connection) -> None:
        query = "SELECT id FROM action WHERE owner_id IS NULL ORDER BY due_date LIMIT 50"
        connection.exec_driver_sql(query).all()

    (plan,) = _plans(sqlite_engine, collect_then_sort)
    (lines,) = _action_reads(plan)
    assert _sorts_what_it_read(lines)


@pytest.mark.parametrize("after", [False, True], ids=["page 1", "after a cursor"])
@pytest.mark.parametrize("sort", list(HistorySort), ids=[sort.value for sort in HistorySort])
def test_a_history_page_reads_the_actions_events_in_order_through_its_index(
    sqlite_engine: Engine, sort: HistorySort, after: bool
) -> None:
    cursor = encode_history_cursor(action_id=7, sort=sort, last_id=1000) if after else None

    def page(connection: Connection) -> None:
        history.events_page(db=connection, action_id=7, sort=sort, limit=50, cursor=cursor)

    (plan,) = _plans(sqlite_engine, page)
    (lines,) = plan.values()
    bound = " AND id<?" if sort.descending else " AND id>?"
    assert lines == [
        f"SEARCH action_event USING INDEX ix_action_event_action_id_id (action_id=?"
        f"{bound if after else ''})"
    ], _text(plan)


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

    plans = _plans(sqlite_engine, page)
    text = "\n".join(_text(plan) for plan in plans)
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
        plans = _plans(sqlite_engine, stats)
    finally:
        with sqlite_engine.begin() as connection:
            connection.execute(delete(Report).where(Report.id == report_id))
    text = "\n".join(_text(plan) for plan in plans)
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
    plans = _plans(sqlite_engine, answer)
    text = "\n".join(_text(plan) for plan in plans)
    assert re.search(r"SEARCH \w*state USING COVERING INDEX ix_action_state_held \(valid_to>", text)
    assert not re.search(r"SCAN \w*state\b", text), text
    held = [line for line in text.splitlines() if "ix_action_state_held" in line]
    assert all("COVERING" in line for line in held), text
