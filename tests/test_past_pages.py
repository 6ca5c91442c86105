"""A past day's list filtered by an owner or a report, by id and by days overdue: read from the
states alone through the index that starts with the owner or the report (Plan.STATES); and by
due date or priority, the states walked in the sort's order (Plan.STATES_IN_ORDER): the same
pages, cursors included, as the plan of before (every action joined to its state), and the
actions a recount of the scripted changes gives, in the order of the sort."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

import app.db as app_db
from app import clock
from app.custom_plans import CUSTOM_PLAN
from app.db import SessionLocal
from app.enums import Priority
from app.models.action import FAR_FUTURE
from app.principal import system
from app.schemas.filters import ActionSort
from app.services import action_pages, page_plans, page_rows
from app.services.as_of import at_day
from app.services.overdue_rule import days_overdue
from app.services.reports import import_text
from tests.helpers import move

FIRST_DAY = date(2026, 1, 5)
DAYS = 8  # of changes, one a day from FIRST_DAY on; today is the day after the last
TODAY = FIRST_DAY + timedelta(days=DAYS)
SECOND_REPORT = (
    "Kent PEEL 2019/20\nAreas for improvement\n- The force should improve its vetting.\n"
    "- The force should improve its training.\n- The force should improve its audits.\n"
)
_STEPS = {"open": ("in_progress", "blocked"), "in_progress": ("blocked", "open", "withdrawn")}
_STEPS |= {"blocked": ("in_progress", "open"), "withdrawn": ("open",)}


@dataclass(frozen=True)
class Held:
    report_id: int
    owner_id: int | None = None
    status: str = "open"
    due_date: date | None = None


@dataclass
class History:
    owners: tuple[int, int]
    reports: tuple[int, int]
    days: dict[date, dict[int, Held]]  # each day's end: every action as it stood
    ranks: dict[int, int]  # each action's priority rank, which the script leaves as imported


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def history(client: Any, seed_text: str, monkeypatch: pytest.MonkeyPatch) -> History:
    """Two reports; then each day a few actions given another owner, due date or status."""
    now = {"moment": _at(FIRST_DAY, 9)}
    monkeypatch.setattr(clock, "utcnow", lambda: now["moment"])
    reports = []
    for text in (seed_text, SECOND_REPORT):
        with SessionLocal.begin() as session:
            result = import_text(session=session, raw=text, metadata={}, actor=system("tests"))
            reports.append(result.report.id)
    owners = tuple(_ok(client.post("/api/v1/owners", json={"name": n}))["id"] for n in "AB")
    items = _ok(client.get("/api/v1/actions?limit=500"))["items"]
    held = {item["id"]: Held(report_id=item["report_id"]) for item in items}
    days = {FIRST_DAY - timedelta(days=1): {}, FIRST_DAY: dict(held)}
    rng = random.Random(24)
    for number in range(1, DAYS):
        day = FIRST_DAY + timedelta(days=number)
        now["moment"] = _at(day, 10)
        for action_id in rng.sample(sorted(held), 10):
            state = held[action_id]
            change = rng.choice(("owner", "due", "status"))
            if change == "owner":
                owner = rng.choice((*owners, None))
                _ok(client.patch(f"/api/v1/actions/{action_id}", json={"owner_id": owner}))
                state = replace(state, owner_id=owner)
            elif change == "due":
                due = FIRST_DAY + timedelta(days=rng.randrange(-30, 20))
                body = {"due_date": str(due), "due_date_reason": "Revised"}
                _ok(client.patch(f"/api/v1/actions/{action_id}", json=body))
                state = replace(state, due_date=due)
            else:
                to = rng.choice(_STEPS[state.status])
                _ok(move(client, action_id, to))
                state = replace(state, status=to)
            held[action_id] = state
        days[day] = dict(held)
    now["moment"] = _at(TODAY, 12)
    ranks = {item["id"]: Priority(item["priority"]).rank for item in items}
    return History(owners=owners, reports=(reports[0], reports[1]), days=days, ranks=ranks)


def _pages(client: Any, query: str, limit: int = 2) -> list[dict[str, Any]]:
    """Every page of `query`, `limit` actions a page, through the cursor."""
    pages = []
    url = f"/api/v1/actions?limit={limit}&{query}"
    while True:
        page = _ok(client.get(url))
        pages.append(page)
        if page["next_cursor"] is None:
            return pages
        url = f"/api/v1/actions?limit={limit}&{query}&cursor={page['next_cursor']}"


class PlanSpy:
    """Pages read with the plans `past_plan` chooses (which it records), or with today's."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client, self.monkeypatch = client, monkeypatch
        self.chosen: list[page_plans.Plan] = []

    def _spied(self, *args: Any, **kwargs: Any) -> page_plans.Plan:
        self.chosen.append(page_plans.past_plan(*args, **kwargs))
        return self.chosen[-1]

    @staticmethod
    def _before(db: Any, shape: Any, params: Any, *, sort_field: str) -> page_plans.Plan:
        return page_plans.plan_for(db, shape, params, by_id=sort_field == "id")

    def now_and_before(self, query: str, limit: int = 2) -> tuple[list[Any], list[Any]]:
        pages = []
        for plan in (self._spied, self._before):
            with self.monkeypatch.context() as patched:
                patched.setattr(page_rows, "past_plan", plan)
                pages.append(_pages(self.client, query, limit))
        return pages[0], pages[1]


def _recount(history: History, day: date, query: dict[str, Any], sort: str) -> list[int]:
    """The ids of the actions that match on `day`, in the order of `sort` (ties by id), from
    the script."""
    held = history.days[max(d for d in history.days if d <= day)]
    field = sort.removeprefix("-")

    def overdue(h: Held) -> int:
        return days_overdue(
            status=h.status, due_date=h.due_date, finding_withdrawn=False, as_of=day
        )

    def key(action_id: int) -> tuple[Any, ...]:
        h = held[action_id]
        if field == "days_overdue":
            return overdue(h), action_id
        if field == "due_date":
            return h.due_date or FAR_FUTURE, action_id
        if field == "priority":
            return history.ranks[action_id], action_id
        return (action_id,)

    def matches(action_id: int, name: str, value: Any) -> bool:
        h = held[action_id]
        if name == "status":
            return h.status in value
        if name == "rank":
            return history.ranks[action_id] in value
        if name == "due_before":
            return h.due_date is not None and h.due_date < value
        if name == "due_after":
            return h.due_date is not None and h.due_date > value
        if name == "overdue":
            return overdue(h) > 0
        return bool(getattr(h, name) == value)

    found = [i for i in held if all(matches(i, name, value) for name, value in query.items())]
    return sorted(found, key=key, reverse=sort.startswith("-"))


def _queries(history: History) -> list[tuple[str, dict[str, Any]]]:
    owner_1, owner_2 = history.owners
    report_1, report_2 = history.reports
    active = ("open", "in_progress", "blocked")
    return [
        (f"owner_id={owner_1}", {"owner_id": owner_1}),
        (f"owner_id={owner_2}", {"owner_id": owner_2}),
        (f"report_id={report_1}", {"report_id": report_1}),
        (f"report_id={report_2}", {"report_id": report_2}),
        (
            f"owner_id={owner_1}&status=open&status=in_progress&status=blocked",
            {"owner_id": owner_1, "status": active},
        ),
        (f"report_id={report_1}&status=blocked", {"report_id": report_1, "status": ("blocked",)}),
    ]


def test_a_past_days_owner_and_report_pages_are_those_of_before_and_the_recount(
    client: Any, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = PlanSpy(client, monkeypatch)
    longest: dict[str, int] = {}
    for day in sorted(history.days)[1:]:
        for query, wanted in _queries(history):
            for sort in ("id", "-id", "-days_overdue", "days_overdue"):
                url = f"as_of={day}&{query}&sort={sort}"
                now, then = spy.now_and_before(url)
                assert now == then, url
                ids = [item["id"] for page in now for item in page["items"]]
                assert ids == _recount(history, day, wanted, sort), url
                longest[query] = max(longest.get(query, 0), len(now))
    assert page_plans.Plan.STATES in spy.chosen
    # Every filter had several pages to follow on some day.
    assert min(longest.values()) > 1, longest


@pytest.mark.parametrize("sort", ["due_date", "-due_date", "priority", "-priority"])
def test_a_past_days_pages_by_due_date_and_priority_are_those_of_before_and_the_recount(
    client: Any, history: History, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    # Every action, or those of two statuses: walked in the sort's order; an owner's or a
    # report's: collected and sorted.
    queries = [("", {}), ("status=open&status=in_progress", {"status": ("open", "in_progress")})]
    queries += _queries(history)
    # Filters that bound the sort's key: the walk starts and ends where their matches do.
    if sort.endswith("priority"):
        for priority in Priority:
            queries.append((f"priority={priority.value}", {"rank": (priority.rank,)}))
    else:
        due_before, due_after = FIRST_DAY, FIRST_DAY - timedelta(days=10)
        queries += [
            (f"due_before={due_before}", {"due_before": due_before}),
            (f"due_after={due_after}", {"due_after": due_after}),
            ("overdue=true", {"overdue": True}),
        ]
    spy = PlanSpy(client, monkeypatch)
    for day in sorted(history.days)[1:]:
        for query, wanted in queries:
            url = f"as_of={day}&{query}&sort={sort}"
            now, then = spy.now_and_before(url, limit=3)
            assert now == then, url
            ids = [item["id"] for page in now for item in page["items"]]
            assert ids == _recount(history, day, wanted, sort), url
    assert set(spy.chosen) == {page_plans.Plan.STATES_IN_ORDER, page_plans.Plan.STATES}


@contextmanager
def _statements_sent() -> Iterator[list[tuple[str, bool]]]:
    """Each statement sent while the block runs, and whether it was marked CUSTOM_PLAN."""
    sent: list[tuple[str, bool]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, *_: Any
    ) -> None:
        custom = context is not None and bool(context.execution_options.get(CUSTOM_PLAN))
        sent.append((statement, custom))

    event.listen(app_db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(app_db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("sort", ["due_date", "-due_date"])
def test_after_a_cursor_by_due_date_the_later_dates_are_read_only_for_a_short_page(
    client: Any, history: History, sort: str
) -> None:
    # The rest of the cursor's due date first; the dates beyond it only when that leaves the
    # page short (at 1M actions, a walk for them that was not needed took 2 s on a day when
    # few states held). Each planned for the cursor's values (PostgreSQL's generic plan of the
    # first part walked most undated states: 700 ms).
    day = max(history.days)
    ordered = _recount(history, day, {}, sort)
    key = {i: history.days[day][i].due_date or FAR_FUTURE for i in ordered}
    limit, shown, parts_read = 2, 0, set()
    url = f"/api/v1/actions?limit={limit}&as_of={day}&sort={sort}"
    page = _ok(client.get(url))
    while page["next_cursor"] is not None:
        shown += len(page["items"])
        last = ordered[shown - 1]
        rest_of_date = [i for i in ordered[shown:] if key[i] == key[last]]
        with _statements_sent() as sent:
            page = _ok(client.get(f"{url}&cursor={page['next_cursor']}"))
        walks = [custom for s, custom in sent if "coalesce(action_state.due_date" in s]
        assert len(walks) == (1 if len(rest_of_date) > limit else 2), rest_of_date
        assert all(walks)
        parts_read.add(len(walks))
    assert shown + len(page["items"]) == len(ordered)
    assert parts_read == {1, 2}


@pytest.mark.parametrize("plan", [page_plans.Plan.SEEK, page_plans.Plan.WALK])
@pytest.mark.parametrize("sort", [ActionSort.ID, ActionSort.ID_DESC], ids=["id", "-id"])
def test_a_past_days_cursor_by_id_bounds_the_states_copy_of_the_id(
    sort: ActionSort, plan: page_plans.Plan
) -> None:
    # The states joined to the actions are bounded by the cursor themselves: PostgreSQL infers
    # no range of one side of a join from a bound on the other, and walked the states' index
    # on the action from the first action to the cursor (a past day's Kent by id, page 20: 63
    # ms at 1M actions, 24 with the bound on the state).
    page = at_day(action_pages.page_statement(("force",), sort, True, plan), date(2020, 1, 1))
    bound = "<" if sort.descending else ">"
    assert f"action_at.state_action_id {bound} :after_id" in str(page.compile())
