"""A search's pages and a walk's pages at scale, by their SQLite query plans (see
tests/plans_db.py): a search by id reads the full-text index in its own order and stops at the
page's end; a walk in sort order first asks the filters' index whether anything matches."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Connection, Engine

from app.schemas.filters import ActionFilters, ActionSort
from app.services import action_reads
from app.services.cursors import Position
from tests.plans_db import action_reads_in, plan_text, plans_of, sorts_what_it_read

AS_OF = date(2030, 1, 15)


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

    plans = plans_of(sqlite_engine, page)
    text = "\n".join(plan_text(plan) for plan in plans)
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
        assert not sorts_what_it_read(lines), text
    for plan in plans:
        assert not action_reads_in(plan), plan_text(plan)


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

    plans = plans_of(sqlite_engine, page)
    text = "\n".join(plan_text(plan) for plan in plans)
    assert re.search(rf"SEARCH action USING COVERING INDEX {index} \(\w+=\?", text), text
    assert re.search(r"^SCAN action\b(?!_)", text, re.MULTILINE), text  # the walk, in id order


def test_whether_report_filters_select_few_reports_is_counted_once_per_values(
    sqlite_engine: Engine,
) -> None:
    # Counting the matching reports only chooses the plan: kept a while, so that the next
    # request or a cursor's later pages with the same values do not count them again.
    def page(force: str) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            action_reads.fetch_batch(
                db=connection,
                filters=ActionFilters(force=force),
                sort=ActionSort.ID,
                as_of=AS_OF,
                after=None,
                limit=50,
            )

        return run

    def counts_reports(plan: dict[int, list[str]]) -> bool:
        return "action" not in plan_text(plan) and "report" in plan_text(plan)

    first, again, other = (
        plans_of(sqlite_engine, page(f)) for f in ("force 7", "force 7", "force 8")
    )
    assert [sum(map(counts_reports, plans)) for plans in (first, again, other)] == [1, 0, 1]
    assert len(again) == len(first) - 1
