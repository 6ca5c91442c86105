"""The status workflow: the only way an action's status changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus as S
from app.enums import EventKind, Role
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, SeparationOfDuties
from app.models import Action, ActionEvent, ApiToken, Finding
from app.principal import Principal
from app.services import evidence, history

ALLOWED: dict[S, tuple[S, ...]] = {
    S.OPEN: (S.IN_PROGRESS, S.BLOCKED, S.SUPERSEDED, S.WITHDRAWN),
    S.IN_PROGRESS: (S.BLOCKED, S.PENDING_SIGN_OFF, S.OPEN, S.SUPERSEDED, S.WITHDRAWN),
    S.BLOCKED: (S.IN_PROGRESS, S.OPEN, S.SUPERSEDED, S.WITHDRAWN),
    S.PENDING_SIGN_OFF: (S.COMPLETED, S.IN_PROGRESS),
    S.COMPLETED: (S.IN_PROGRESS,),
    S.SUPERSEDED: (S.OPEN,),
    S.WITHDRAWN: (S.OPEN,),
}
CLOSED = frozenset({S.COMPLETED, S.SUPERSEDED, S.WITHDRAWN})


def needs_comment(current: S, to: S) -> str | None:
    """Why a comment is required for this step, or None if it is optional."""
    if to in (S.BLOCKED, S.SUPERSEDED, S.WITHDRAWN):
        return f"moving to {to} needs a comment saying why"
    if current is S.PENDING_SIGN_OFF and to is S.IN_PROGRESS:
        return "refusing sign-off needs a comment saying why"
    if current is S.COMPLETED:
        return "reopening a completed action needs a comment saying why"
    return None


def event_kind(current: S, to: S) -> EventKind:
    if current is S.PENDING_SIGN_OFF and to is S.COMPLETED:
        return EventKind.SIGNED_OFF
    if current is S.PENDING_SIGN_OFF and to is S.IN_PROGRESS:
        return EventKind.SIGN_OFF_REFUSED
    if current is S.COMPLETED:
        return EventKind.REOPENED
    if current in CLOSED and to is S.OPEN:
        return EventKind.REINSTATED
    return EventKind.TRANSITION


def transition(
    *,
    session: Session,
    action: Action,
    to: S,
    actor: Principal,
    comment: str | None = None,
    superseded_by_action_id: int | None = None,
    superseded_by_finding_id: int | None = None,
) -> Action:
    current = S(action.status)
    allowed = ALLOWED[current]
    if current is S.PENDING_SIGN_OFF and to in allowed:
        _check_sign_off(session=session, action=action, actor=actor)
    if to not in allowed:
        raise Conflict(
            f"Action {action.reference} is {current}; it cannot move to {to}. "
            f"Allowed next: {', '.join(allowed)}.",
            current_status=current,
            allowed=list(allowed),
        )
    reason = needs_comment(current, to)
    if reason and not comment:
        raise InvalidInput(f"A comment is required: {reason}.", field="comment")
    # Checked again at sign-off itself: evidence removed by any path since the request (an
    # older version of the service allowed it) must not let an action complete without any.
    if to in (S.PENDING_SIGN_OFF, S.COMPLETED) and not evidence.count_active(
        session=session, action_id=action.id
    ):
        step = "asking for sign-off" if to is S.PENDING_SIGN_OFF else "signing it off"
        raise Conflict(
            f"Action {action.reference} has no evidence; add at least one item before {step}.",
            current_status=current,
            allowed=list(allowed),
        )
    replacement = _replacement(
        session=session,
        action=action,
        to=to,
        action_id=superseded_by_action_id,
        finding_id=superseded_by_finding_id,
    )

    changes: dict[str, list[object]] = {"status": [current, to]}
    # One moment for the row and its event: closed_at is when the event says it closed.
    now = clock.utcnow()
    action.status = to
    if to in CLOSED:
        action.closed_at = now
    elif action.closed_at is not None:
        action.closed_at = None
    if to is S.SUPERSEDED:
        action.superseded_by_action_id, action.superseded_by_finding_id = replacement
        changes["superseded_by"] = [None, _describe(replacement)]
    elif current is S.SUPERSEDED:
        action.superseded_by_action_id = action.superseded_by_finding_id = None
    action.updated_at = now
    session.flush()
    history.record(
        session=session,
        action=action,
        kind=event_kind(current, to),
        actor=actor,
        changes=changes,
        comment=comment,
        at=now,
    )
    return action


def _check_sign_off(*, session: Session, action: Action, actor: Principal) -> None:
    """Sign-off (or refusing it) is for approvers, and never for the person who asked for it:
    not under the token they asked with, nor any other token of the same user (admins
    included), nor a token acting for the same owner."""
    if actor.role is None or not actor.role.includes(Role.APPROVER):
        raise Forbidden(
            f"Signing off {action.reference} (or refusing sign-off) needs the approver role."
        )
    requested = session.execute(
        select(ActionEvent.user_name, ActionEvent.token_id, ApiToken.owner_id)
        .outerjoin(ApiToken, ApiToken.id == ActionEvent.token_id)
        .where(
            ActionEvent.action_id == action.id,
            ActionEvent.changes[("status", 1)].as_string() == S.PENDING_SIGN_OFF,
        )
        .order_by(ActionEvent.id.desc())
        .limit(1)
    ).first()
    if requested is None:
        return
    user, token_id, owner_id = requested
    if actor.same_person_as(user=user, token_id=token_id, owner_id=owner_id):
        who = f"user {user!r}" if user is not None and user == actor.user else actor.label
        raise SeparationOfDuties(
            f"{who} asked for sign-off of {action.reference}, so someone else must sign it "
            "off or refuse it (separation of duties), whichever token they use.",
            requested_by=user,
        )


def _replacement(
    *, session: Session, action: Action, to: S, action_id: int | None, finding_id: int | None
) -> tuple[int | None, int | None]:
    if action_id is None and finding_id is None:
        return None, None
    if to is not S.SUPERSEDED:
        raise InvalidInput(
            "superseded_by_action_id and superseded_by_finding_id go only with 'superseded'.",
            field="superseded_by_action_id",
        )
    if action_id is not None:
        if action_id == action.id:
            raise InvalidInput(
                "An action cannot supersede itself.", field="superseded_by_action_id"
            )
        if session.get(Action, action_id) is None:
            raise NotFound(f"No action with id {action_id} to supersede this one.")
    if finding_id is not None and session.get(Finding, finding_id) is None:
        raise NotFound(f"No finding with id {finding_id} to supersede this action.")
    return action_id, finding_id


def _describe(replacement: tuple[int | None, int | None]) -> dict[str, int] | None:
    action_id, finding_id = replacement
    described = {"action_id": action_id, "finding_id": finding_id}
    return {key: value for key, value in described.items() if value is not None} or None
