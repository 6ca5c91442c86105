"""A SQLite database that plans as a national register would, for the query-plan tests: the
schema from the migrations, a hundred reports, and the statistics ANALYZE gathered on the
benchmark's million actions (bench/); and helpers that read the plan of each statement a call
sends (EXPLAIN QUERY PLAN). Loaded by conftest as a plugin (`sqlite_engine`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from app import migrate
from app.db import DEFERRED, make_engine
from app.models import Report

# sqlite_stat1 of the benchmark's 1,000,000 actions (40,025 reports), as ANALYZE wrote it;
# ix_action_rag_status and ix_action_last_progress_at (migration 0009) as the priority index
# and as a timestamp column most actions have set; ix_action_id_filters (migration 0021) as
# ANALYZE writes a unique first column; the indexes of an owner's and a report's states
# (migration 0024) as ANALYZE wrote them at 4,249,756 states, scaled to this count;
# ix_action_report_id_reference (migration 0031) as the report's status index, unique; the
# states' sort indexes (migration 0032) as ANALYZE wrote them at 4,249,893 states, scaled, with
# the report 0033 added to them and to ix_action_state_due_date (4,249,952 states: the same).
MILLION_ACTIONS_STATISTICS = """
action ix_action_due_date 1000000 168
action ix_action_due_date_sort 1000000 168 1
action ix_action_finding_id 1000000 1
action ix_action_owner_id_status 1000000 2494 357 2 1
action ix_action_priority_rank_id 1000000 250000 1
action ix_action_priority_status 1000000 250000 35715 8 1
action ix_action_report_id_status 1000000 25 5 1 1
action ix_action_report_id_reference 1000000 25 1
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
action_state ix_action_state_due_date 3317168 555 3 2 2 1 1 1
action_state ix_action_state_owner_id 2151400 5379 3
action_state ix_action_state_owner_due 2151400 5379 5 2
action_state ix_action_state_report 3317149 107 2 1 1 1 1 1 1 1
action_state ix_action_state_due_sort 3317168 539 4 4
action_state ix_action_state_priority_rank 3317149 829288 5 5
action_state ix_action_state_owner_due_sort 2151400 5379 5 2
action_state ix_action_state_owner_priority 2151400 5379 1345 3
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


QueryPlan = dict[int, list[str]]  # the lines of a query plan by parent: one entry per (sub)query


def plans_of(engine: Engine, call: Any) -> list[QueryPlan]:
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
            plan: QueryPlan = {}
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
SCANS_ACTIONS = re.compile(r"SCAN action\b")


def action_reads_in(plan: QueryPlan) -> list[list[str]]:
    """The (sub)queries of a plan that read the action table other than by id."""
    return [lines for lines in plan.values() if any(map(_READS_ACTIONS.match, lines))]


def sorts_what_it_read(lines: list[str]) -> bool:
    return any("TEMP B-TREE FOR ORDER BY" in line for line in lines)


def plan_text(plan: QueryPlan) -> str:
    return "\n".join(line for lines in plan.values() for line in lines)


def columns_read(engine: Engine, call: Any) -> list[set[tuple[str, str]]]:
    """For each statement `call(connection)` sends, the (table or index, column) pairs its
    bytecode reads (EXPLAIN's `Column` instructions): whether a test is made in an index or in
    the table behind it, which EXPLAIN QUERY PLAN does not show."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with engine.connect().execution_options(**{DEFERRED: True}) as connection:
        event.listen(engine, "before_cursor_execute", record)
        try:
            call(connection)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        objects = {
            root: (name, table)
            for name, table, root in connection.exec_driver_sql(
                "SELECT name, tbl_name, rootpage FROM sqlite_schema WHERE rootpage > 0"
            )
        }
        columns: dict[str, list[str]] = {}
        for name, table in objects.values():
            if name == table:
                pragma = f"PRAGMA table_info({name})"
                columns[name] = [row[1] for row in connection.exec_driver_sql(pragma)]
            else:
                pragma = f"PRAGMA index_xinfo({name})"
                columns[name] = [str(row[2]) for row in connection.exec_driver_sql(pragma)]
        reads = []
        for sql, params in sent:
            cursors: dict[int, str] = {}
            read: set[tuple[str, str]] = set()
            for _addr, opcode, p1, p2, *_rest in connection.exec_driver_sql(
                f"EXPLAIN {sql}", params
            ):
                if opcode == "OpenRead" and p2 in objects:
                    cursors[p1] = objects[p2][0]
                elif opcode == "Column" and p1 in cursors:
                    name = cursors[p1]
                    read.add((name, columns[name][p2]))
            reads.append(read)
        return reads
