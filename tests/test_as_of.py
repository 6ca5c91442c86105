"""Answers as they stood on a day (`as_of`): rebuilt from the states the history wrote, checked
day by day against a scripted quarter of changes (tests.history_scenario)."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from app.models import ActionState
from tests.helpers import assert_problem
from tests.history_scenario import SEED_DAY, TODAY, Expected, Scenario, at, clock_at, play
from tests.query_data import fetch_all, sql_statements

ROOT_MIGRATION = "migrations/versions/0012_action_state.py"


@pytest.fixture
def scenario(client: Any, client_as: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    approver = client_as("approver", user="ann")
    with clock_at(monkeypatch) as set_now:
        return play(client=client, approver=approver, seed_text=seed_text, set_now=set_now)


def _days() -> list[date]:
    return [SEED_DAY + timedelta(days=n) for n in range((TODAY - SEED_DAY).days + 1)]


def _overdue(expected: Expected, day: date) -> bool:
    active = expected.status in ("open", "in_progress", "blocked")
    late = expected.due_date is not None and expected.due_date < day
    return active and late and not expected.withdrawn


def _seen(item: dict[str, Any]) -> Expected:
    return Expected(
        status=item["status"],
        owner_id=item["owner"]["id"] if item["owner"] else None,
        due_date=date.fromisoformat(item["due_date"]) if item["due_date"] else None,
        rag=item["rag"],
        withdrawn=item["finding_withdrawn_at"] is not None,
    )


def test_one_action_on_each_day_is_as_it_stood(client: Any, scenario: Scenario) -> None:
    for day in _days():
        for name, action_id in scenario.ids().items():
            response = client.get(f"/api/v1/actions/{action_id}?as_of={day}")
            assert response.status_code == 200, response.text
            item = response.json()
            expected = scenario.expected(day)[name]
            assert (day, name, _seen(item)) == (day, name, expected)
            assert item["is_overdue"] == _overdue(expected, day), (day, name)


def test_before_it_was_made_an_action_is_not_found(client: Any, scenario: Scenario) -> None:
    the_day_before = SEED_DAY - timedelta(days=1)
    assert_problem(client.get(f"/api/v1/actions/{scenario.a}?as_of={the_day_before}"), 404)
    listed = client.get(f"/api/v1/actions?as_of={the_day_before}&count=true").json()
    assert (listed["items"], listed["total"]) == ([], 0)


def test_today_and_later_days_read_the_action_as_it_is(client: Any, scenario: Scenario) -> None:
    for day in (TODAY, TODAY + timedelta(days=30)):
        item = client.get(f"/api/v1/actions/{scenario.a}?as_of={day}").json()
        assert _seen(item) == scenario.expected(TODAY)["a"]


def test_the_list_filters_by_the_state_on_the_day(client: Any, scenario: Scenario) -> None:
    owner_1, owner_2 = scenario.owners
    for day in _days():
        expected = scenario.expected(day)
        for owner in (owner_1, owner_2):
            ids = {
                item["id"]
                for item in client.get(
                    f"/api/v1/actions?as_of={day}&owner_id={owner}&limit=500"
                ).json()["items"]
            }
            wanted = {
                getattr(scenario, name) for name, e in expected.items() if e.owner_id == owner
            }
            assert (day, ids) == (day, wanted)
        overdue = client.get(f"/api/v1/actions?as_of={day}&overdue=true&limit=500").json()
        wanted_overdue = {getattr(scenario, n) for n, e in expected.items() if _overdue(e, day)}
        assert (day, {item["id"] for item in overdue["items"]}) == (day, wanted_overdue)
        red = client.get(f"/api/v1/actions?as_of={day}&rag=red&limit=500").json()["items"]
        wanted_red = {getattr(scenario, n) for n, e in expected.items() if e.rag == "red"}
        assert (day, {item["id"] for item in red}) == (day, wanted_red)


def test_stats_and_overdue_summary_count_the_state_on_the_day(
    client: Any, scenario: Scenario
) -> None:
    total = len(client.get("/api/v1/actions?limit=500").json()["items"])
    for day in _days():
        expected = scenario.expected(day)
        stats = client.get(f"/api/v1/stats?as_of={day}").json()
        moved = {e.status for e in expected.values()}
        counts = stats["totals"]["counts"]
        assert stats["totals"]["total"] == total
        for status in moved - {"open"}:
            wanted = sum(e.status == status for e in expected.values())
            assert (day, status, counts[status]) == (day, status, wanted)
        overdue = sum(_overdue(e, day) for e in expected.values())
        assert (day, stats["totals"]["overdue"]) == (day, overdue)
        summary = client.get(f"/api/v1/actions/overdue-summary?as_of={day}").json()
        assert (day, summary["overdue"]) == (day, overdue)
        late = sorted(
            (e.due_date, getattr(scenario, n)) for n, e in expected.items() if _overdue(e, day)
        )
        assert (day, [item["id"] for item in summary["oldest"]]) == (day, [i for _, i in late])
        by_owner = client.get(f"/api/v1/stats?as_of={day}&group_by=owner").json()
        owned = {g["key"]: g["total"] for g in by_owner["groups"] if g["key"] is not None}
        wanted_owned: dict[int, int] = {}
        for e in expected.values():
            if e.owner_id is not None:
                wanted_owned[e.owner_id] = wanted_owned.get(e.owner_id, 0) + 1
        assert (day, owned) == (day, wanted_owned)


def test_stats_by_owner_give_each_groups_overdue_and_oldest_as_they_stood(
    client: Any, scenario: Scenario
) -> None:
    # A past day's figures come from one pass over the states (app.services.stats_past); the
    # oldest overdue action of a group is the lowest id among its earliest due date.
    for day in _days():
        late: dict[int | None, list[tuple[date, int]]] = {}
        for name, e in scenario.expected(day).items():
            if _overdue(e, day):
                assert e.due_date is not None
                late.setdefault(e.owner_id, []).append((e.due_date, getattr(scenario, name)))
        groups = client.get(f"/api/v1/stats?as_of={day}&group_by=owner").json()["groups"]
        seen = {
            g["key"]: (g["overdue"], g["oldest_overdue"]["action_id"])
            for g in groups
            if g["overdue"]
        }
        assert (day, seen) == (day, {key: (len(v), min(v)[1]) for key, v in late.items()})
        assert all(g["oldest_overdue"] is None for g in groups if not g["overdue"]), day


def test_the_list_by_days_overdue_pages_through_the_day_as_it_stood(
    client: Any, scenario: Scenario
) -> None:
    # On a past day the overdue segment's ids come from the states (Plan.STATES), page by page.
    total = len(client.get("/api/v1/actions?limit=500").json()["items"])
    for day in _days():
        expected = scenario.expected(day)
        wanted = sorted(
            (
                ((day - e.due_date).days if _overdue(e, day) and e.due_date else 0, action_id)
                for name, e in expected.items()
                for action_id in [getattr(scenario, name)]
            ),
            reverse=True,
        )
        items = fetch_all(client, f"/api/v1/actions?as_of={day}&sort=-days_overdue&limit=2")
        assert len({item["id"] for item in items}) == len(items) == total
        named = {action_id for _, action_id in wanted}
        seen = [(item["days_overdue"], item["id"]) for item in items if item["id"] in named]
        assert (day, seen) == (day, wanted)


def _states(session: Any) -> list[tuple[Any, ...]]:
    columns = [c for c in ActionState.__table__.c if c.name != "id"]
    return [tuple(row) for row in session.execute(select(*columns).order_by(*columns[:2]))]


def test_the_migration_rebuilds_from_the_history_the_states_the_service_wrote(
    scenario: Scenario, session: Any
) -> None:
    written = _states(session)
    assert len(written) > len({row[0] for row in written})  # some actions changed
    spec = importlib.util.spec_from_file_location("migration_0012", ROOT_MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    session.execute(delete(ActionState))
    migration.backfill(session.connection())
    assert _states(session) == written


# Neither is kept in the states: today's on every day.
_NOT_KEPT = ("updated_at", "version")


def _without(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in _NOT_KEPT}


def _csv_rows(client: Any, query: str) -> list[dict[str, str]]:
    response = client.get(f"/api/v1/actions.csv?{query}")
    assert response.status_code == 200, response.text
    return [_without(row) for row in csv.DictReader(io.StringIO(response.text))]


def test_a_past_days_notes_and_revisions_are_the_ones_given_that_day(
    client: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list, one action and the CSV asked on a later day with as_of answer what they
    answered on the day itself (but for `_NOT_KEPT`), notes and revision counts included: the
    notes are rebuilt from the history (app.services.past_progress), the CSV's written between
    the two parts of the record the database writes, quoted as it quotes them."""
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text

    day = date(2026, 1, 6)
    with clock_at(monkeypatch) as set_now:
        set_now(at(SEED_DAY, 9))
        with SessionLocal.begin() as session:
            import_text(session=session, raw=seed_text, metadata={}, actor=system("tests"))
        x, y, z = (item["id"] for item in client.get("/api/v1/actions?limit=3").json()["items"])
        set_now(at(day))
        for action_id, fields in (
            (x, {"due_date": "2026-02-01", "progress_note": '=HYPERLINK("x"), then', "rag": "red"}),
            (y, {"due_date": "2026-01-01", "progress_note": 'Said "soon"\r\nand more'}),
            (z, {"progress_note": "-1 day"}),
        ):
            assert client.patch(f"/api/v1/actions/{action_id}", json=fields).status_code == 200
        set_now(at(day, 20))
        listed = [_without(i) for i in client.get("/api/v1/actions?limit=500").json()["items"]]
        ones = {i: _without(client.get(f"/api/v1/actions/{i}").json()) for i in (x, y, z)}
        exported = {sort: _csv_rows(client, f"sort={sort}") for sort in ("id", "-days_overdue")}
        assert [ones[x]["progress_note"], ones[x]["due_date_revisions"]] == [
            '=HYPERLINK("x"), then',
            0,
        ]
        assert exported["id"][0]["progress_note"] == '\'=HYPERLINK("x"), then'

        set_now(at(day + timedelta(days=2)))
        reason = {"due_date_reason": "Moved"}
        for action_id, fields in (
            (x, {"due_date": "2026-03-01", "progress_note": "Later", **reason}),
            (y, {"due_date": "2026-02-01", "progress_note": None, **reason}),
            (z, {"progress_note": "+1 day", "percent_complete": 5}),
        ):
            assert client.patch(f"/api/v1/actions/{action_id}", json=fields).status_code == 200
        set_now(at(day + timedelta(days=4)))
        now = client.get(f"/api/v1/actions/{x}").json()
        assert (now["progress_note"], now["due_date_revisions"]) == ("Later", 1)

        query = f"as_of={day}&limit=500"
        assert [_without(i) for i in client.get(f"/api/v1/actions?{query}").json()["items"]] == (
            listed
        )
        for action_id, one in ones.items():
            assert _without(client.get(f"/api/v1/actions/{action_id}?as_of={day}").json()) == one
        for sort, rows in exported.items():
            assert _csv_rows(client, f"as_of={day}&sort={sort}") == rows, sort


def _reads_of_events(statements: list[str]) -> list[str]:
    """The statements that read the history itself (app.services.past_progress), not the page
    statement, whose revision count is a subquery of the history."""
    return [s for s in statements if re.match(r"\s*SELECT action_event\.", s)]


def test_the_calendar_and_the_overdue_check_of_a_past_day_do_not_rebuild_notes(
    client: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither the calendar feed nor any format of `afi overdue` shows the progress note or
    the revision count, so on a past day they read nothing of the history for them; the list
    of that day still shows the note and count as they were."""
    from app.cli import cli
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text

    day = date(2026, 1, 6)
    with clock_at(monkeypatch) as set_now:
        set_now(at(SEED_DAY, 9))
        with SessionLocal.begin() as session:
            import_text(session=session, raw=seed_text, metadata={}, actor=system("tests"))
        x = client.get("/api/v1/actions?limit=1").json()["items"][0]
        set_now(at(day))
        then = {"due_date": "2026-01-03", "progress_note": "Then"}
        assert client.patch(f"/api/v1/actions/{x['id']}", json=then).status_code == 200
        set_now(at(day + timedelta(days=2)))
        later = {"due_date": "2026-01-04", "due_date_reason": "Moved", "progress_note": "Later"}
        assert client.patch(f"/api/v1/actions/{x['id']}", json=later).status_code == 200
        set_now(at(day + timedelta(days=4)))

        with sql_statements() as statements:
            feed = client.get(f"/api/v1/calendar.ics?as_of={day}")
            checks = [
                CliRunner().invoke(cli, ["overdue", "--as-of", str(day), "--format", chosen])
                for chosen in ("text", "json", "junit", "github")
            ]
        assert feed.status_code == 200 and f"{x['reference']}:" in feed.text
        for result in checks:
            assert result.exit_code == 1, result.output  # x was overdue on the day
            assert x["reference"] in result.output
        assert statements and _reads_of_events(statements) == []

        with sql_statements() as statements:
            listed = client.get(f"/api/v1/actions?as_of={day}&limit=500").json()["items"]
        assert _reads_of_events(statements)  # the list rebuilds them from the history
        past = next(item for item in listed if item["id"] == x["id"])
        assert (past["progress_note"], past["due_date_revisions"]) == ("Then", 0)
