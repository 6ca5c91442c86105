"""A recount of the trend, the ageing, RAG per report and the changes from the raw history:
each action's `action_event` rows (and its `created_at`) replayed here, in Python, day by day in
Europe/London, with none of the service's state code (app.services.states, as_of, trend,
changes). The rules are the documented ones: an action is open unless completed, superseded or
withdrawn; overdue when open, in progress or blocked, its finding still in the report, and its
due date before the day; a due date's change is a revision when it had one before; a change to
pending sign-off is a proposal for closure; an action is newly overdue on the day after its due
date if it is overdue then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.models import Action, ActionEvent

LONDON = ZoneInfo("Europe/London")
KINDS = {"status": "status_changed", "due_date": "due_date_revised", "rag": "rag_changed"}
CLOSED = {"completed", "superseded", "withdrawn"}
ACTIVE = {"open", "in_progress", "blocked"}


@dataclass(frozen=True)
class Stood:
    """One action at the end of a day, as its events left it."""

    report_id: int
    status: str = "open"
    due_date: date | None = None
    rag: str | None = None
    withdrawn: bool = False
    owner_id: int | None = None
    progress_note: str | None = None
    revisions: int = 0

    def overdue_on(self, day: date) -> bool:
        late = self.due_date is not None and self.due_date < day
        return late and self.status in ACTIVE and not self.withdrawn


def local_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def _apply(stood: Stood, kind: str, changes: dict[str, Any]) -> Stood:
    if "status" in changes:
        stood = replace(stood, status=changes["status"][1])
    if "due_date" in changes:
        due = changes["due_date"][1]
        stood = replace(stood, due_date=due and date.fromisoformat(due))
    if "rag" in changes:
        stood = replace(stood, rag=changes["rag"][1])
    if "owner_id" in changes:
        stood = replace(stood, owner_id=changes["owner_id"][1])
    if "progress_note" in changes:
        stood = replace(stood, progress_note=changes["progress_note"][1])
    if kind == "due_date_revised":
        stood = replace(stood, revisions=stood.revisions + 1)
    if kind == "finding_withdrawn":
        stood = replace(stood, withdrawn=True)
    if "withdrawn_at" in changes:  # a re-import put the finding back (or not)
        stood = replace(stood, withdrawn=changes["withdrawn_at"][1] is not None)
    return stood


class History:
    """The raw rows, and every action as it stood at the end of every day, replayed here."""

    def __init__(self, session: Any, first: date, last: date) -> None:
        self.actions = {row.id: row for row in session.execute(select(Action.__table__))}
        ordered = select(ActionEvent.__table__).order_by(ActionEvent.created_at, ActionEvent.id)
        self.events = list(session.execute(ordered))
        self.days: dict[date, dict[int, Stood]] = {}
        now: dict[int, Stood] = {}
        pending = iter(self.events)
        event = next(pending, None)
        for day in days(first, last):
            for action in self.actions.values():
                if local_day(action.created_at) == day:
                    now[action.id] = Stood(report_id=action.report_id)
            while event is not None and local_day(event.created_at) <= day:
                now[event.action_id] = _apply(now[event.action_id], event.kind, event.changes)
                event = next(pending, None)
            self.days[day] = dict(now)

    def trend(self, ends: list[date], first: date, report: int | None = None) -> list[tuple]:
        """(period end, open, overdue, completed, opened) per period, from `first`."""
        chosen = {a for a, row in self.actions.items() if report in (None, row.report_id)}
        rows, start = [], first
        for end in ends:
            stood = [s for a, s in self.days[end].items() if a in chosen]
            completed = sum(
                e.action_id in chosen
                and start <= local_day(e.created_at) <= end
                and e.changes.get("status", [None, None])[1] == "completed"
                for e in self.events
            )
            opened = sum(start <= local_day(self.actions[a].created_at) <= end for a in chosen)
            open_ = sum(s.status not in CLOSED for s in stood)
            rows.append((end, open_, sum(s.overdue_on(end) for s in stood), completed, opened))
            start = end + timedelta(days=1)
        return rows

    def ageing(self, day: date, report: int | None = None) -> list[int]:
        stood = [s for s in self.days[day].values() if report in (None, s.report_id)]
        late = [(day - s.due_date).days for s in stood if s.overdue_on(day)]
        bands = [(1, 30), (31, 90), (91, 180), (181, 10**6)]
        return [sum(low <= days <= high for days in late) for low, high in bands]

    def rag_by_report(self, day: date) -> dict[int, tuple[int, ...]]:
        """Report id -> (red, amber, green, not assessed, total)."""
        by_report: dict[int, list[str | None]] = {}
        for stood in self.days[day].values():
            by_report.setdefault(stood.report_id, []).append(stood.rag)
        return {
            report: (*(rags.count(rag) for rag in ("red", "amber", "green", None)), len(rags))
            for report, rags in by_report.items()
        }

    def changes(self, since: date, until: date) -> list[dict[str, Any]]:
        """What a committee is told changed, as /changes answers it: oldest first."""
        found = []  # (at, 0 for an event or 1, event or action id, kind, action id, from, to, e)
        for e in self.events:
            if not since <= local_day(e.created_at) <= until:
                continue
            seen = {
                "status": e.changes.get("status"),
                "due_date": (e.changes.get("due_date") or [None])[0] and e.changes["due_date"],
                "rag": e.changes.get("rag"),
            }
            for field, change in seen.items():
                if change:
                    kind = (
                        KINDS[field] if change[1] != "pending_sign_off" else "proposed_for_closure"
                    )
                    found.append((e.created_at, 0, e.id, kind, e.action_id, *change, e))
        for day in days(since, until):  # overdue from the day after the due date
            start = datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)
            for a, s in sorted(self.days[day].items()):
                if s.overdue_on(day) and s.due_date == day - timedelta(days=1):
                    found.append((start, 1, a, "newly_overdue", a, None, str(s.due_date), None))
        return [
            {"kind": kind, "action_id": a, "reference": self.actions[a].reference, "at": at,
             "from": before, "to": after, "actor": e and e.actor, "reason": e and e.comment}
            for at, _, _, kind, a, before, after, e in sorted(found, key=lambda f: f[:3])
        ]  # fmt: skip


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def month_ends(first: date, last: date) -> list[date]:
    return [day for day in days(first, last) if (day + timedelta(days=1)).day == 1 or day == last]
