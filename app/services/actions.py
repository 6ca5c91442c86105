"""Changing actions: fields, owners, bulk updates. Status changes live in `workflow`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock, contention
from app.db import Reader
from app.enums import ActionStatus, EventKind, Priority
from app.errors import InvalidInput, NotFound, StaleVersion
from app.models import Action, ActionEvent, Finding, Owner
from app.principal import Principal
from app.schemas.actions import ActionCreate, ActionUpdate, BulkFields, BulkUpdate, TransitionIn
from app.schemas.filters import HistorySort
from app.services import action_reads, history, lookups, revisions, workflow
from app.services.imports import action_description, action_title


def check_version(*, action: Action, expected_versions: frozenset[int] | None) -> None:
    """Optimistic concurrency: 412 unless the action is still at a version the client expects
    (None: any), i.e. nobody changed it since the client read it."""
    if expected_versions is None or action.version in expected_versions:
        return
    raise StaleVersion(action_id=action.id, reference=action.reference, version=action.version)


def view(*, db: Reader, action_id: int, as_of: date | None = None) -> dict[str, Any]:
    """An action as every read shows it: with its report, question and overdue state."""
    found = action_reads.one_action(db=db, action_id=action_id, as_of=as_of or clock.today())
    if found is None:
        raise NotFound(f"No action with id {action_id}.")
    return found


def create_action(*, session: Session, data: ActionCreate, actor: Principal) -> Action:
    # Locked, so that two extra actions added at once do not both take the next number.
    finding = session.get(Finding, data.finding_id, with_for_update=True)
    if finding is None:
        raise InvalidInput(f"No finding with id {data.finding_id}.", field="finding_id")
    _check_owner(session=session, owner_id=data.owner_id)
    count = session.scalar(select(func.count(Action.id)).where(Action.finding_id == finding.id))
    now = clock.utcnow()
    action = Action(
        finding=finding,
        reference=f"{finding.reference}-{(count or 0) + 1}",
        title=data.title or action_title(text=finding.text),
        description=data.description
        or action_description(text=finding.text, subpoints=finding.subpoints),
        owner_id=data.owner_id,
        status=ActionStatus.OPEN,
        priority=data.priority,
        priority_rank=data.priority.rank,
        due_date=data.due_date,
        original_due_date=data.due_date,
        progress_note=data.progress_note,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    history.record(
        session=session,
        action=action,
        kind=EventKind.CREATED,
        actor=actor,
        changes={"finding_id": [None, finding.id]},
        at=now,  # its first state begins when it was made
    )
    return action


def update_action(
    *, session: Session, action: Action, data: ActionUpdate | BulkFields, actor: Principal
) -> Action:
    """Apply the fields that were sent; one event for the owner, one for everything else."""
    sent = data.model_dump(exclude_unset=True)
    for field in ("title", "description", "priority"):
        if field in sent and sent[field] is None:
            raise InvalidInput(f"{field} cannot be null.", field=field)
    _check_owner(session=session, owner_id=sent.get("owner_id"))
    reason = sent.pop("due_date_reason", None)
    revised = revisions.check(action=action, sent=sent, reason=reason, actor=actor)
    _check_progress_note(sent)
    changes: dict[str, list[Any]] = {}
    for field, new in sent.items():
        old = getattr(action, field)
        if old != new:
            changes[field] = [_jsonable(old), _jsonable(new)]
            setattr(action, field, new)
    if "priority" in changes:
        action.priority_rank = Priority(action.priority).rank
    if action.original_due_date is None and action.due_date is not None:
        action.original_due_date = action.due_date  # the first due date it is given
    if not changes:
        return action
    action.updated_at = clock.utcnow()
    # A changed note, RAG or percentage is a progress update: dated, and its own event.
    progress = {field: changes.pop(field) for field in _PROGRESS if field in changes}
    if progress:
        now = action.updated_at
        progress["last_progress_at"] = [_jsonable(action.last_progress_at), _jsonable(now)]
        action.last_progress_at = now
    session.flush()
    owner_change = changes.pop("owner_id", None)
    if owner_change is not None:
        history.record(
            session=session,
            action=action,
            kind=EventKind.ASSIGNED if owner_change[1] is not None else EventKind.UNASSIGNED,
            actor=actor,
            changes={"owner_id": owner_change},
        )
    if revised:
        revisions.record(
            session=session,
            action=action,
            change=changes.pop("due_date"),
            reason=reason,
            actor=actor,
        )
    if progress:
        history.record(
            session=session,
            action=action,
            kind=EventKind.PROGRESS_UPDATED,
            actor=actor,
            changes=progress,
        )
    if changes:
        history.record(
            session=session, action=action, kind=EventKind.UPDATED, actor=actor, changes=changes
        )
    return action


def bulk_update(*, session: Session, data: BulkUpdate, actor: Principal) -> list[int]:
    """Set the same fields on many actions: all of them or, on any error, none."""
    ids = list(dict.fromkeys(data.action_ids))
    # Locked, in id order whatever the order asked for: two bulk updates of overlapping actions
    # queue for them one after the other rather than deadlock, and each writes the versions it
    # read (not ones another update changed in between: that would be a 409 for nobody's fault).
    found = session.scalars(
        select(Action).where(Action.id.in_(ids)).order_by(Action.id).with_for_update()
    ).all()
    missing = sorted(set(ids) - {action.id for action in found})
    if missing:
        raise NotFound(f"No actions with ids {missing}; nothing was changed.", missing=missing)
    for action in found:
        update_action(session=session, action=action, data=data.set, actor=actor)
    return ids


def add_comment(*, session: Session, action: Action, comment: str, actor: Principal) -> ActionEvent:
    event = history.record(
        session=session, action=action, kind=EventKind.COMMENT, actor=actor, comment=comment
    )
    session.flush()
    return event


# The fields of a progress update (they set last_progress_at).
_PROGRESS = ("progress_note", "rag", "percent_complete")


def _check_progress_note(sent: dict[str, Any]) -> None:
    """RAG and percentage are an assessment: given with the progress note that explains it."""
    if ("rag" in sent or "percent_complete" in sent) and not (
        sent.get("progress_note") or ""
    ).strip():
        raise InvalidInput(
            "rag and percent_complete are set with a progress note: give progress_note as well.",
            field="progress_note",
        )


def _check_owner(*, session: Session, owner_id: int | None) -> None:
    if owner_id is not None and session.get(Owner, owner_id) is None:
        raise InvalidInput(f"No owner with id {owner_id}.", field="owner_id")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# The entry points of the API: by id in, the action as read out.


def create_and_view(*, session: Session, data: ActionCreate, actor: Principal) -> dict[str, Any]:
    action = create_action(session=session, data=data, actor=actor)
    return view(db=session, action_id=action.id)


def patch(
    *,
    session: Session,
    action_id: int,
    data: ActionUpdate,
    actor: Principal,
    expected_versions: frozenset[int] | None,
) -> dict[str, Any]:
    def unit() -> dict[str, Any]:
        # Locked, and the version checked under the lock: a concurrent edit makes this one wait
        # its turn, not fail on a version counter that changed after it was read.
        action = lookups.get_action(session=session, action_id=action_id, for_update=True)
        check_version(action=action, expected_versions=expected_versions)
        update_action(session=session, action=action, data=data, actor=actor)
        return view(db=session, action_id=action_id)

    return contention.retrying(session=session, work=unit)


def bulk_update_and_view(
    *, session: Session, data: BulkUpdate, actor: Principal
) -> list[dict[str, Any]]:
    def unit() -> list[dict[str, Any]]:
        ids = bulk_update(session=session, data=data, actor=actor)
        return action_reads.many_actions(db=session, action_ids=ids, as_of=clock.today())

    return contention.retrying(session=session, work=unit)


def move(
    *,
    session: Session,
    action_id: int,
    data: TransitionIn,
    actor: Principal,
    expected_versions: frozenset[int] | None,
) -> dict[str, Any]:
    def unit() -> dict[str, Any]:
        # Locked, as adding and removing evidence lock it: the evidence rules of a transition
        # must not race a removal (PostgreSQL runs at READ COMMITTED; SQLite writers queue).
        action = lookups.get_action(session=session, action_id=action_id, for_update=True)
        check_version(action=action, expected_versions=expected_versions)
        workflow.transition(
            session=session,
            action=action,
            to=data.to,
            actor=actor,
            comment=data.comment,
            superseded_by_action_id=data.superseded_by_action_id,
            superseded_by_finding_id=data.superseded_by_finding_id,
        )
        return view(db=session, action_id=action_id)

    return contention.retrying(session=session, work=unit)


def events(
    *, db: Reader, action_id: int, sort: HistorySort, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A page of an action's history (`history.events_page`); 404 if there is no such action."""
    lookups.require_action(db=db, action_id=action_id)
    return history.events_page(db=db, action_id=action_id, sort=sort, limit=limit, cursor=cursor)


def comment_on(*, session: Session, action_id: int, comment: str, actor: Principal) -> ActionEvent:
    action = lookups.get_action(session=session, action_id=action_id)
    return add_comment(session=session, action=action, comment=comment, actor=actor)
