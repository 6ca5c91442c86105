"""The trend read from the kept figures of ended days (app.services.day_figures, trend_kept)
against the same trend from every state placed (the path used with filters) and by the delta:
the scripted quarter (tests.history_scenario) replayed with the worker's pass run on each day,
then carried on for seven months (so that every ageing bucket fills and empties), month and
quarter, ranges ending on past days, today and after it. Then: days not kept fall back; a
write dated on a kept day (the clock moved back) forgets it; kept rows are really read."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from app import clock
from app.cli import cli
from app.db import SessionLocal
from app.models import DayFigure
from app.services import day_figures, trend, trend_kept
from app.services.states import day_end
from app.worker import keep_all_day_figures, keep_day_figures
from tests.helpers import move
from tests.history_scenario import SEED_DAY, TODAY, at
from tests.trend_scenario import LATER, MovingClock, json_at, kept_used

_INTERVALS = ("month", "quarter")
_STARTS = (date(2025, 6, 1), SEED_DAY, date(2026, 2, 10), date(2026, 6, 15))
_ENDS = (SEED_DAY, date(2026, 2, 1), date(2026, 2, 28), date(2026, 6, 1), date(2026, 9, 30))


def _urls(until: date) -> list[str]:
    """Ranges ending on past days, today (`until`) and after it (the period ends in the future
    are today's actions as they stand)."""
    urls = []
    after = tuple(until + timedelta(days=days) for days in (19, 100))
    for interval in _INTERVALS:
        for start in _STARTS:
            for end in (*(day for day in _ENDS if day <= until), until, None, *after):
                if end is not None and end < start:
                    continue
                url = f"/api/v1/stats/trend?interval={interval}&from={start}"
                urls.append(url + (f"&to={end}" if end is not None else ""))
    return urls


def _each_state_placed(client: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(trend, "by_kept", lambda _shape: False)
        patched.setattr(trend, "by_delta", lambda _shape: False)
        return json_at(client, url)


def _by_delta(client: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(trend, "by_kept", lambda _shape: False)
        return json_at(client, url)


def test_every_day_before_today_is_kept_down_to_one_before_any_action(
    carried_on: MovingClock, session: Any
) -> None:
    kept = day_figures.kept_days(session)
    assert kept[0] <= SEED_DAY - timedelta(days=1)  # the first pass counts a batch of days
    assert kept == [kept[0] + timedelta(days=k) for k in range((LATER - kept[0]).days)]
    first = session.get(DayFigure, SEED_DAY - timedelta(days=1))
    assert (first.actions, first.open, first.opened) == (0, 0, 0)
    seeded = session.get(DayFigure, SEED_DAY)
    assert seeded.opened == seeded.actions > 0


@pytest.mark.parametrize("batch_days", [None, 1, 5])
def test_trend_from_kept_days_is_every_state_placed(
    client: Any,
    carried_on: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
    session: Any,
    batch_days: int | None,
) -> None:
    if batch_days is not None:  # counted again from nothing, in batches of that many days
        session.execute(delete(DayFigure))
        session.commit()
        monkeypatch.setattr(day_figures, "BATCH_DAYS", batch_days)
        assert keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow()) > 0
    used = 0
    for url in _urls(LATER):
        kept, from_kept = kept_used(client, monkeypatch, url)
        assert kept == _each_state_placed(client, monkeypatch, url), url
        assert kept == _by_delta(client, monkeypatch, url), url
        used += from_kept
        if "from=2025-06-01" not in url:
            assert from_kept, url
    assert used == len(_urls(LATER))  # days before any action are known to be all 0


def test_each_day_kept_is_every_state_placed(
    client: Any, carried_on: MovingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each day as the last end of a trend: its open, overdue and ageing (every bucket's edges
    # are crossed by the dated actions), and completed and opened from its month's start.
    day = SEED_DAY - timedelta(days=2)
    while day <= LATER:
        url = f"/api/v1/stats/trend?interval=month&from={day}&to={day}"
        kept, from_kept = kept_used(client, monkeypatch, url)
        assert from_kept, url
        assert kept == _each_state_placed(client, monkeypatch, url), url
        day += timedelta(days=1)


def test_every_bucket_and_figure_is_exercised(client: Any, carried_on: MovingClock) -> None:
    seen: dict[str, int] = {}
    for url in _urls(LATER):
        body = json_at(client, url)
        for name, value in body["ageing"].items():
            if name != "as_of":
                seen[name] = seen.get(name, 0) + (value > 0)
        for item in body["items"]:
            for name in ("open", "overdue", "completed", "opened"):
                seen[name] = seen.get(name, 0) + (item[name] > 0)
    assert all(seen.values()), seen
    assert len(seen) == 8


@pytest.mark.parametrize(
    "column",
    [
        "open",
        "overdue_0_30",
        "overdue_31_90",
        "overdue_91_180",
        "overdue_over_180",
        "completed",
        "opened",
    ],
)
def test_kept_figures_are_what_the_trend_reads(
    client: Any, carried_on: MovingClock, session: Any, column: str
) -> None:
    # One kept day changed: an answer whose last period ends on it (or holds it) changes.
    day = date(2026, 6, 30)
    url = f"/api/v1/stats/trend?interval=month&from=2026-04-01&to={day}"
    before = json_at(client, url)
    session.execute(
        update(DayFigure)
        .where(DayFigure.day_date == day)
        .values({column: getattr(DayFigure, column) + 1})
    )
    session.commit()
    assert json_at(client, url) != before


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    missing=st.sets(st.integers(min_value=0, max_value=(LATER - SEED_DAY).days + 1), max_size=4),
    start=st.integers(min_value=-40, max_value=(LATER - SEED_DAY).days),
    length=st.integers(min_value=0, max_value=300),
    interval=st.sampled_from(_INTERVALS),
)
def test_days_not_kept_fall_back_to_the_states(
    client: Any,
    carried_on: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
    session: Any,
    missing: set[int],
    start: int,
    length: int,
    interval: str,
) -> None:
    first = SEED_DAY + timedelta(days=start)
    end = min(first + timedelta(days=length), LATER + timedelta(days=60))
    gone = [SEED_DAY - timedelta(days=1) + timedelta(days=k) for k in missing]
    url = f"/api/v1/stats/trend?interval={interval}&from={first}&to={end}"
    outer = session.begin_nested()
    try:
        session.execute(delete(DayFigure).where(DayFigure.day_date.in_(gone)))
        session.flush()
        answer, from_kept = kept_used(client, monkeypatch, url)
        assert answer == _each_state_placed(client, monkeypatch, url), url
        # Kept days used unless a day not kept (today is not) is followed by a kept one, or
        # more than RECENT_DAYS are not kept at the end; before any action every day is 0.
        period_first = trend.period_start(first, trend.TrendInterval(interval))
        # The days up to today (LATER): after it, only the period ends are counted.
        last_begun = min(end, LATER)
        needed = [
            period_first + timedelta(days=k) for k in range((last_begun - period_first).days + 1)
        ]
        none_through = SEED_DAY - timedelta(days=2 if SEED_DAY - timedelta(days=1) in gone else 1)
        not_kept = [day for day in needed if day == LATER or (day in gone and day > none_through)]
        at_the_end = needed[len(needed) - len(not_kept) :] == not_kept
        expected = at_the_end and len(not_kept) <= trend_kept.RECENT_DAYS
        assert from_kept is expected, (url, gone)
    finally:
        outer.rollback()


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        ("month", LATER + timedelta(days=45), LATER + timedelta(days=120)),
        ("quarter", date(2027, 1, 15), date(2027, 6, 30)),
    ],
)
def test_a_range_whose_first_period_starts_after_today_is_not_from_the_kept_days(
    client: Any,
    carried_on: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
    interval: str,
    start: date,
    end: date,
) -> None:
    url = f"/api/v1/stats/trend?interval={interval}&from={start}&to={end}"
    answer, from_kept = kept_used(client, monkeypatch, url)
    assert not from_kept
    assert answer == _each_state_placed(client, monkeypatch, url)
    assert answer["items"][0]["open"] > 0


def test_a_write_dated_on_a_kept_day_forgets_it_and_every_later_one(
    client: Any, carried_on: MovingClock, monkeypatch: pytest.MonkeyPatch, session: Any
) -> None:
    day = date(2026, 5, 20)
    carried_on.set(at(day, 15))  # the clock moved back: the states after it are "to come"
    ids = [item["id"] for item in json_at(client, "/api/v1/actions?limit=3")["items"]]
    assert move(client, ids[2], "in_progress").status_code == 200
    kept = day_figures.kept_days(session)
    assert kept[-1] == day - timedelta(days=1)
    for url in (
        "/api/v1/stats/trend?interval=month&from=2026-01-01&to=2026-05-19",
        "/api/v1/stats/trend?interval=quarter&from=2025-10-01&to=2026-04-30",
    ):
        answer, from_kept = kept_used(client, monkeypatch, url)
        assert from_kept
        assert answer == _each_state_placed(client, monkeypatch, url)
    # The days forgotten are not counted again before their end (plus the grace) has come.
    assert keep_day_figures(sessions=SessionLocal, now=clock.utcnow()) == 0
    carried_on.set(at(LATER, 12))
    assert keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow()) == (LATER - day).days
    url = "/api/v1/stats/trend?interval=month&from=2026-04-01&to=2026-09-30"
    answer, from_kept = kept_used(client, monkeypatch, url)
    assert from_kept
    assert answer == _each_state_placed(client, monkeypatch, url)


def test_a_day_is_kept_only_once_it_ended_a_grace_ago(
    client: Any, carried_on: MovingClock, monkeypatch: pytest.MonkeyPatch, session: Any
) -> None:
    yesterday = LATER - timedelta(days=1)
    session.execute(delete(DayFigure).where(DayFigure.day_date == yesterday))
    session.commit()
    just_after = day_end(yesterday) + day_figures.GRACE - timedelta(minutes=1)
    assert keep_day_figures(sessions=SessionLocal, now=just_after) == 0
    # Meanwhile the trend counts the days since the last kept one by the delta.
    carried_on.set(just_after)
    for url in ("/api/v1/stats/trend?interval=month", "/api/v1/stats/trend?interval=quarter"):
        answer, from_kept = kept_used(client, monkeypatch, url)
        assert from_kept
        assert answer == _each_state_placed(client, monkeypatch, url)
    assert keep_day_figures(sessions=SessionLocal, now=just_after + timedelta(minutes=1)) == 1
    assert day_figures.kept_days(session)[-1] == yesterday


def test_days_kept_in_another_time_zone_are_not_read_and_are_dropped(
    client: Any, carried_on: MovingClock, monkeypatch: pytest.MonkeyPatch, session: Any
) -> None:
    session.execute(update(DayFigure).values(time_zone="Europe/Paris"))
    session.commit()
    url = "/api/v1/stats/trend?interval=month&from=2026-01-01&to=2026-09-30"
    answer, from_kept = kept_used(client, monkeypatch, url)
    assert not from_kept
    assert keep_day_figures(sessions=SessionLocal, now=clock.utcnow()) > 0
    count = session.scalar(
        select(func.count()).select_from(DayFigure).where(DayFigure.time_zone == "Europe/Paris")
    )
    assert count == 0
    assert keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow()) > 0
    again, from_kept = kept_used(client, monkeypatch, url)
    assert from_kept and again == answer


def test_with_no_action_every_day_is_nothing(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: at(TODAY, 12))
    assert keep_all_day_figures(sessions=SessionLocal, now=clock.utcnow()) == day_figures.BATCH_DAYS
    url = "/api/v1/stats/trend?interval=quarter&from=2024-01-01&to=2026-02-01"
    answer, from_kept = kept_used(client, monkeypatch, url)
    assert from_kept
    assert answer == _each_state_placed(client, monkeypatch, url)
    assert all(item["open"] == 0 for item in answer["items"])


def test_keep_figures_command_counts_every_day_missing(
    client: Any, carried_on: MovingClock, session: Any
) -> None:
    session.execute(delete(DayFigure).where(DayFigure.day_date >= date(2026, 9, 1)))
    session.commit()
    result = CliRunner().invoke(cli, ["keep-figures"])
    assert result.exit_code == 0, result.output
    assert "Days counted and kept: 41." in result.output
    assert day_figures.kept_days(session)[-1] == LATER - timedelta(days=1)


def test_trends_by_report_and_by_owner_add_up_to_the_kept_one(
    client: Any, carried_on: MovingClock
) -> None:
    # With filters each state is placed (through ix_action_state_report, and on PostgreSQL
    # ix_action_state_owner): the report's force selects every action, and the owners with the
    # unassigned split them; each adds up to the trend from the kept days.
    reports = json_at(client, "/api/v1/reports")["items"]
    forces = {report["force"] for report in reports}
    owners = [owner["id"] for owner in json_at(client, "/api/v1/owners?limit=200")["items"]]
    assert len(forces) == 1 and len(owners) >= 2
    (force,) = forces
    parts = [f"owner_id={owner}" for owner in owners] + ["unassigned=true"]
    for url in _urls(LATER):
        whole = json_at(client, url)
        assert json_at(client, f"{url}&force={force}") == whole
        split = [json_at(client, f"{url}&{part}") for part in parts]
        assert sum(item["open"] > 0 for body in split for item in body["items"]) > 0, url
        for k, item in enumerate(whole["items"]):
            for name in ("open", "overdue", "completed", "opened"):
                assert sum(body["items"][k][name] for body in split) == item[name], (url, k)
        for name, value in whole["ageing"].items():
            if name != "as_of":
                assert sum(body["ageing"][name] for body in split) == value, url
