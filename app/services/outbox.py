"""Writing public events into the outbox, in the transaction of the change they report.

The history (app.services.history) is the one writer of action changes; it hands every entry
here, and `public_event` says, in this one place, which history kinds become which public
event. Imports add one `report.imported` each; the daily tick adds the reminders
(app.services.reminders). The envelope is Standard Webhooks' shape, sent as is:
`{"type", "timestamp", "data"}`, where data always has `action_id`, `reference`,
`report_id`, `owner_id`, `actor` and `user`, and a change's `from` and `to`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app.enums import EventKind, EventType
from app.models import Action, OutboxEvent
from app.principal import Principal

if TYPE_CHECKING:
    from app.services.imports import ImportOutcome

_OUTBOX = cast(Table, OutboxEvent.__table__)
_ACTION = cast(Table, Action.__table__)
# Rows per INSERT batch and ids per IN list, for imports of thousands of actions.
_BATCH = 2000

_STATUS_KINDS = frozenset(
    {
        EventKind.TRANSITION,
        EventKind.SIGNED_OFF,
        EventKind.SIGN_OFF_REFUSED,
        EventKind.REOPENED,
        EventKind.REINSTATED,
    }
)


def timestamp(at: datetime) -> str:
    """An envelope's timestamp: UTC, ISO 8601 with microseconds and a `Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(*, type_: EventType, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_.value, "timestamp": timestamp(at), "data": data}


def public_event(
    kind: EventKind, changes: Mapping[str, Any], comment: str | None
) -> tuple[EventType, dict[str, Any]] | None:
    """The public event (type and what data adds) a history entry stands for; None for the
    entries no public event reports (progress notes, other field edits, re-import details:
    `report.imported` reports those)."""
    if kind is EventKind.CREATED:
        return EventType.ACTION_CREATED, {}
    if kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED):
        before, after = changes["owner_id"]
        return EventType.ACTION_OWNER_CHANGED, {"from": before, "to": after}
    if kind is EventKind.DUE_DATE_REVISED or (kind is EventKind.UPDATED and "due_date" in changes):
        # A first due date is an update; changing one it already had, a revision with a reason.
        before, after = changes["due_date"]
        reason = comment if kind is EventKind.DUE_DATE_REVISED else None
        return EventType.ACTION_DUE_DATE_CHANGED, {"from": before, "to": after, "reason": reason}
    if kind in _STATUS_KINDS:
        before, after = changes["status"]
        return EventType.ACTION_STATUS_CHANGED, {"from": before, "to": after, "comment": comment}
    if kind is EventKind.COMMENT:
        return EventType.ACTION_COMMENT_ADDED, {"comment": comment}
    if kind is EventKind.EVIDENCE_ADDED:
        return EventType.ACTION_EVIDENCE_ADDED, {"evidence": dict(changes)}
    if kind is EventKind.EVIDENCE_REMOVED:
        return EventType.ACTION_EVIDENCE_REMOVED, {"evidence": dict(changes)}
    return None


def row(
    *,
    type_: EventType,
    at: datetime,
    data: dict[str, Any],
    action_id: int | None = None,
    report_id: int | None = None,
    owner_id: int | None = None,
    tick_date: date | None = None,
) -> dict[str, Any]:
    """An outbox row (for INSERTs of many) with its envelope."""
    return {
        "type": type_.value,
        "action_id": action_id,
        "report_id": report_id,
        "owner_id": owner_id,
        "tick_date": tick_date,
        "created_at": at,
        "payload": envelope(type_=type_, at=at, data=data),
    }


def action_data(
    *, action_id: int, reference: str, report_id: int, owner_id: int | None, actor: Principal
) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "reference": reference,
        "report_id": report_id,
        "owner_id": owner_id,
        "actor": actor.label,
        "user": actor.user,
    }


def from_history(
    *,
    session: Session,
    action: Action,
    kind: EventKind,
    actor: Principal,
    changes: Mapping[str, Any],
    comment: str | None,
    at: datetime,
) -> None:
    """The public event of one history entry, if it has one (app.services.history.record)."""
    public = public_event(kind, changes, comment)
    if public is None:
        return
    type_, extra = public
    data = action_data(
        action_id=action.id,
        reference=action.reference,
        report_id=action.report_id,
        owner_id=action.owner_id,
        actor=actor,
    )
    values = row(
        type_=type_,
        at=at,
        data={**data, **extra},
        action_id=action.id,
        report_id=action.report_id,
        owner_id=action.owner_id,
    )
    session.add(OutboxEvent(**values))


def from_history_many(
    *,
    session: Session,
    entries: Sequence[tuple[int, Mapping[str, Any] | None]],
    kind: EventKind,
    actor: Principal,
    comment: str | None,
    at: datetime,
) -> int:
    """The public events of many history entries of one kind (imports), as batches of
    INSERTs; the actions' references and reports read a batch of ids at a time. Returns how
    many were written."""
    publics = [
        (action_id, public)
        for action_id, changes in entries
        if (public := public_event(kind, changes or {}, comment)) is not None
    ]
    written = 0
    for batch in _batches(publics):
        facts = {
            row.id: row
            for row in session.execute(
                select(
                    _ACTION.c.id, _ACTION.c.reference, _ACTION.c.report_id, _ACTION.c.owner_id
                ).where(_ACTION.c.id.in_([action_id for action_id, _ in batch]))
            )
        }
        rows = []
        for action_id, (type_, extra) in batch:
            fact = facts[action_id]
            data = action_data(
                action_id=action_id,
                reference=fact.reference,
                report_id=fact.report_id,
                owner_id=fact.owner_id,
                actor=actor,
            )
            rows.append(
                row(
                    type_=type_,
                    at=at,
                    data={**data, **extra},
                    action_id=action_id,
                    report_id=fact.report_id,
                    owner_id=fact.owner_id,
                )
            )
        session.execute(insert(_OUTBOX), rows)
        written += len(rows)
    return written


def report_imported(
    *, session: Session, outcome: ImportOutcome, actor: Principal, at: datetime
) -> None:
    """One `report.imported` per import that stored something (none for the same text again)."""
    if not outcome.changed:
        return
    report = outcome.report
    data = {
        "report_id": report.id,
        "force": report.force,
        "programme": report.programme,
        "year": report.year_label,
        "pillar": report.pillar,
        "title": report.title,
        "created": outcome.created,
        "findings_added": outcome.added,
        "findings_updated": outcome.updated,
        "findings_withdrawn": outcome.withdrawn,
        "actor": actor.label,
        "user": actor.user,
    }
    session.execute(
        insert(_OUTBOX),
        [row(type_=EventType.REPORT_IMPORTED, at=at, data=data, report_id=report.id)],
    )


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]
