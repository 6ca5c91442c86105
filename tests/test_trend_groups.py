"""The trend with filters of the status, RAG, assigned or not and programme read from the kept
groups of ended days (app.services.day_groups, trend_kept), against the same trend from every
state placed (its path of before): the scripted history carried on (tests.trend_scenario), then
a month more with a report of a second programme, owners, RAGs and moves on both, the worker's
pass every few days; month and quarter, ranges ending on past days, today and after it (today,
days not kept at the end and the ends in the future by the delta with the filters). Then: the
groups add up to the day's figures, go with the day's row, are really read; other filters keep
their path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from app import clock
from app.db import SessionLocal
from app.models import DayFigure, DayGroupFigure
from app.principal import system
from app.services import day_figures, tallies, trend, trend_kept
from app.services.reports import import_text
from app.worker import keep_all_day_figures
from tests.helpers import add_note, move
from tests.history_scenario import SEED_DAY, at
from tests.trend_scenario import LATER, MovingClock, json_at, kept_used

END = LATER + timedelta(days=40)  # the month more carried on to here
_FILTERS = (
    "status=open",
    "status=in_progress",
    "status=open&status=in_progress&status=blocked",
    "status=completed",
    "status=pending_sign_off",
    "rag=red",
    "rag=amber&rag=green",
    "status=open&status=in_progress&rag=red&rag=amber",
    "unassigned=true",
    "unassigned=false",
    "programme=PEEL",
    "programme=jtai",
    "programme=CDI",
    "status=open&programme=JTAI",
    "rag=red&unassigned=false",
    "status=in_progress&rag=red&programme=peel&unassigned=false",
    "status=blocked&unassigned=true",
    "status=in_progress&status=blocked&unassigned=false",
)
_RANGES = (
    ("month", date(2025, 6, 1), None),
    ("month", SEED_DAY, date(2026, 2, 28)),
    ("month", date(2026, 2, 10), LATER + timedelta(days=3)),
    ("month", date(2026, 6, 15), END - timedelta(days=1)),
    ("month", LATER, END),
    ("month", END - timedelta(days=2), None),
    ("quarter", SEED_DAY, None),
    ("quarter", date(2026, 2, 10), date(2026, 9, 30)),
    ("quarter", date(2026, 6, 15), END - timedelta(days=8)),
    ("quarter", date(2025, 6, 1), LATER),
    # Ending after today: the ends in the future are today's actions as they stand.
    ("month", END - timedelta(days=100), END + timedelta(days=40)),
    ("month", END, END + timedelta(days=70)),
    ("quarter", date(2026, 6, 15), END + timedelta(days=95)),
)


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def grouped(
    client: Any, client_as: Any, carried_on: MovingClock, seed_text: str
) -> Iterator[MovingClock]:
    """A month more after the carried-on history: a JTAI report, owners, RAGs and moves on it
    and on the PEEL report; the worker's pass every three days; the clock left at END, noon,
    with every day before it kept."""
    approver = client_as("approver", user="ann")
    moving = carried_on
    moving.every = 3
    moving.walk_to(at(LATER + timedelta(days=1)))
    with SessionLocal.begin() as session:
        other = seed_text.replace("Cumbria PEEL 2015", "Cumbria JTAI 2015", 1)
        import_text(session=session, raw=other, metadata={}, actor=system("tests"))
    owner = _ok(client.post("/api/v1/owners", json={"name": "DS Khan"}))["id"]
    peel, jtai = (
        [
            item["id"]
            for item in _ok(client.get(f"/api/v1/actions?programme={name}&limit=50"))["items"]
        ]
        for name in ("PEEL", "JTAI")
    )
    for k, action in enumerate(jtai[:8]):
        due = (LATER - timedelta(days=20 * k - 60)).isoformat()
        change = {"due_date": due, "progress_note": "Planned", "rag": ("red", "amber", None)[k % 3]}
        _ok(
            client.patch(
                f"/api/v1/actions/{action}", json={**change, "owner_id": owner} if k % 2 else change
            )
        )
    moving.walk_to(at(LATER + timedelta(days=9)))
    for action in jtai[:3]:
        _ok(move(client, action, "in_progress"))
    _ok(move(client, jtai[3], "blocked", "Waiting"))
    _ok(client.patch(f"/api/v1/actions/{peel[5]}", json={"progress_note": "Late", "rag": "red"}))
    _ok(client.patch(f"/api/v1/actions/{peel[6]}", json={"owner_id": owner}))
    moving.walk_to(at(LATER + timedelta(days=20)))
    add_note(client, jtai[0])
    _ok(move(client, jtai[0], "pending_sign_off"))
    _ok(move(approver, jtai[0], "completed", "Seen"))
    _ok(client.patch(f"/api/v1/actions/{jtai[1]}", json={"owner_id": None}))
    _ok(
        client.patch(f"/api/v1/actions/{jtai[2]}", json={"progress_note": "Better", "rag": "green"})
    )
    moving.walk_to(at(END - timedelta(days=3)))
    _ok(move(client, jtai[3], "in_progress"))
    _ok(move(client, peel[5], "in_progress"))
    moving.walk_to(at(END, 12))
    keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow())
    # Today's changes, which only the delta counts.
    _ok(move(client, jtai[4], "in_progress"))
    _ok(client.patch(f"/api/v1/actions/{jtai[5]}", json={"progress_note": "Now", "rag": "red"}))
    yield moving


def _urls(filters: str) -> list[str]:
    urls = []
    for interval, start, end in _RANGES:
        url = f"/api/v1/stats/trend?interval={interval}&from={start}&{filters}"
        urls.append(url + (f"&to={end}" if end is not None else ""))
    return urls


def _each_state_placed(client: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(trend, "by_kept", lambda _shape: False)
        return json_at(client, url)


@pytest.mark.parametrize("filters", _FILTERS)
def test_trend_from_kept_groups_is_every_state_placed(
    client: Any, grouped: MovingClock, monkeypatch: pytest.MonkeyPatch, filters: str
) -> None:
    for url in _urls(filters):
        kept, from_kept = kept_used(client, monkeypatch, url)
        assert from_kept, url
        assert kept == _each_state_placed(client, monkeypatch, url), url


def test_every_filter_selects_some_and_every_figure_is_exercised(
    client: Any, grouped: MovingClock
) -> None:
    seen: dict[str, set[str]] = {}
    for filters in _FILTERS:
        for url in _urls(filters):
            body = json_at(client, url)
            for item in body["items"]:
                for name in ("open", "overdue", "completed", "opened"):
                    if item[name] > 0:
                        seen.setdefault(name, set()).add(filters)
            for name, value in body["ageing"].items():
                if name != "as_of" and value > 0:
                    seen.setdefault(name, set()).add(filters)
    assert len(seen) == 8, seen
    selecting = set().union(*seen.values())
    assert selecting == set(_FILTERS) - {"programme=CDI"}


def test_a_days_groups_add_up_to_its_figures(
    client: Any, grouped: MovingClock, session: Any
) -> None:
    figures = ("open", *day_figures.OVERDUE_COLUMNS, "completed", "opened")
    G = DayGroupFigure
    sums = {
        day: values
        for day, *values in session.execute(
            select(G.day_date, *(func.sum(getattr(G, name)) for name in figures)).group_by(
                G.day_date
            )
        )
    }
    kept = session.scalars(select(DayFigure).where(DayFigure.actions > 0)).all()
    assert len(kept) == (END - SEED_DAY).days
    for day in kept:
        assert sums[day.day_date] == [getattr(day, name) for name in figures], day.day_date
    groups = session.execute(
        select(G.status, G.rag, G.assigned, G.programme).where(
            G.day_date == END - timedelta(days=1)
        )
    ).all()
    assert {group.programme for group in groups} == {"peel", "jtai"}
    assert {group.rag for group in groups} == {"", "red", "amber", "green"}
    assert {group.assigned for group in groups} == {True, False}


# With today, at most RECENT_DAYS days at the end of a range are counted by the delta.
@pytest.mark.parametrize("not_kept", [1, 5, trend_kept.RECENT_DAYS - 1])
def test_the_last_days_not_kept_are_counted_by_the_delta_with_the_filters(
    client: Any,
    grouped: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
    session: Any,
    not_kept: int,
) -> None:
    session.execute(delete(DayFigure).where(DayFigure.day_date >= END - timedelta(days=not_kept)))
    session.commit()
    assert (
        session.scalar(
            select(func.count()).where(DayGroupFigure.day_date >= END - timedelta(days=not_kept))
        )
        == 0
    )  # gone with their day's row
    for filters in _FILTERS:
        for url in _urls(filters):
            kept, from_kept = kept_used(client, monkeypatch, url)
            assert from_kept, url
            assert kept == _each_state_placed(client, monkeypatch, url), url


def test_a_day_not_kept_in_the_range_falls_back(
    client: Any, grouped: MovingClock, monkeypatch: pytest.MonkeyPatch, session: Any
) -> None:
    session.execute(delete(DayFigure).where(DayFigure.day_date == LATER))
    session.commit()
    url = "/api/v1/stats/trend?interval=month&from=2026-09-01&status=open&programme=PEEL"
    answer, from_kept = kept_used(client, monkeypatch, url)
    assert not from_kept
    assert answer == _each_state_placed(client, monkeypatch, url)
    assert keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow()) == 1
    again, from_kept = kept_used(client, monkeypatch, url)
    assert from_kept and again == answer


@pytest.mark.parametrize("column", ["open", "overdue_91_180", "completed", "opened"])
def test_kept_groups_are_what_the_trend_reads(
    client: Any, grouped: MovingClock, session: Any, column: str
) -> None:
    day = date(2026, 9, 30)
    url = f"/api/v1/stats/trend?interval=month&from=2026-07-01&to={day}&status=in_progress"
    before = json_at(client, url)
    other = json_at(client, url.replace("in_progress", "open"))
    G = DayGroupFigure
    session.execute(
        update(G)
        .where(G.day_date == day, G.status == "in_progress")
        .values({column: getattr(G, column) + 1})
    )
    session.commit()
    assert json_at(client, url) != before
    assert json_at(client, url.replace("in_progress", "open")) == other


# Per dimension of the tallies: which actions a write moves (open to blocked, so one more
# open action of the key's tally is blocked), the shapes whose today's actions are that key's
# tallies (with blocked among their statuses, or none) and shapes beside them whose answers
# must not move (another key; the statuses without blocked).
_TALLIED = {
    "programme": (
        "report",
        "programme=peel",
        ("programme=PEEL", "status=open&status=blocked&programme=peel"),
        ("programme=JTAI", "status=open&programme=PEEL"),
    ),
    "rag": (
        "rag",
        "rag=amber",
        ("rag=amber", "rag=green&rag=amber", "status=blocked&status=in_progress&rag=amber"),
        ("rag=red", "rag=green", "status=open&rag=amber"),
    ),
    "unassigned": (
        "owner",
        "unassigned=true",
        ("unassigned=true", "status=open&status=blocked&unassigned=true"),
        ("unassigned=false", "status=open&unassigned=true"),
    ),
    "assigned": (
        "owner",
        "unassigned=false",
        ("unassigned=false", "status=blocked&unassigned=false"),
        ("unassigned=true", "status=in_progress&unassigned=false"),
    ),
}


@pytest.mark.parametrize("tallied", list(_TALLIED))
def test_todays_actions_of_whole_keys_are_their_tallies(
    client: Any,
    grouped: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
    session: Any,
    tallied: str,
) -> None:
    """Today's actions of a programme, RAGs or the owner's absence or presence (with statuses
    or not) are the tallies of the keys they select summed (its reports', theirs, no owner's,
    every owner's), folded and pending alike: the same as every state placed after a fold and
    a write since; and one more blocked action in one key's folded tally is one more open
    action at the last end of the shapes that count that key, and moves no other answer."""
    dim, among, counted, beside = _TALLIED[tallied]
    tallies.compact(session.connection())
    session.commit()
    action = json_at(client, f"/api/v1/actions?{among}&status=open&limit=1")["items"][0]
    _ok(move(client, action["id"], "blocked", "Waiting"))  # pending, beside the folded
    urls = {
        url: filters in counted
        for filters in (*counted, *beside)
        for url in _urls(filters)
        if "&to=" not in url
    }
    before = {}
    for url in urls:
        before[url], from_kept = kept_used(client, monkeypatch, url)
        assert from_kept, url
        assert before[url] == _each_state_placed(client, monkeypatch, url), url
    key = {
        "report": str(action["report_id"]),
        "rag": action["rag"],
        "owner": "" if action["owner_id"] is None else str(action["owner_id"]),
    }[dim]
    T = tallies.TALLY.c
    changed = session.execute(
        update(tallies.TALLY)
        .where(T.dim == dim, T.has_key == (key != ""), T.key == key)
        .values(n_blocked=T.n_blocked + 1)
    )
    assert changed.rowcount == 1
    session.commit()
    for url, counts in urls.items():
        after = json_at(client, url)
        if counts:
            assert after["items"][-1]["open"] == before[url]["items"][-1]["open"] + 1, url
            assert after["items"][:-1] == before[url]["items"][:-1], url
            assert after["ageing"] == before[url]["ageing"], url
        else:
            assert after == before[url], url


@pytest.mark.parametrize(
    "filters",
    ["force=Cumbria&status=open", "owner_id=1", "priority=high", "programme=PEEL&year=2015"],
)
def test_other_filters_keep_their_path(
    client: Any, grouped: MovingClock, monkeypatch: pytest.MonkeyPatch, filters: str
) -> None:
    for url in _urls(filters):
        answer, from_kept = kept_used(client, monkeypatch, url)
        assert not from_kept, url
        assert answer == _each_state_placed(client, monkeypatch, url)
