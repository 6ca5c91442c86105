from __future__ import annotations

from enum import StrEnum


class FindingKind(StrEnum):
    AREA_FOR_IMPROVEMENT = "area_for_improvement"
    CAUSE_OF_CONCERN = "cause_of_concern"
    RECOMMENDATION = "recommendation"

    @property
    def code(self) -> str:
        return _KIND_CODES[self]


_KIND_CODES = {
    FindingKind.AREA_FOR_IMPROVEMENT: "AFI",
    FindingKind.CAUSE_OF_CONCERN: "COC",
    FindingKind.RECOMMENDATION: "REC",
}


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    PENDING_SIGN_OFF = "pending_sign_off"
    COMPLETED = "completed"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"

    def includes(self, other: Role) -> bool:
        """Roles are cumulative: each one can do everything the ones below it can."""
        order = list(Role)
        return order.index(self) >= order.index(other)


class Rag(StrEnum):
    """A red/amber/green assessment of an action's progress."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class EventKind(StrEnum):
    """What an entry of an action's history records."""

    CREATED = "created"
    UPDATED = "updated"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    COMMENT = "comment"
    TRANSITION = "transition"
    SIGNED_OFF = "signed_off"
    SIGN_OFF_REFUSED = "sign_off_refused"
    REOPENED = "reopened"
    REINSTATED = "reinstated"
    EVIDENCE_ADDED = "evidence_added"
    EVIDENCE_REMOVED = "evidence_removed"
    REIMPORTED = "reimported"
    FINDING_WITHDRAWN = "finding_withdrawn"
    DUE_DATE_REVISED = "due_date_revised"
    PROGRESS_UPDATED = "progress_updated"


class EventType(StrEnum):
    """A public event: in the event feed and sent to webhooks (app.services.outbox)."""

    ACTION_CREATED = "action.created"
    ACTION_STATUS_CHANGED = "action.status_changed"
    ACTION_OWNER_CHANGED = "action.owner_changed"
    ACTION_DUE_DATE_CHANGED = "action.due_date_changed"
    ACTION_EVIDENCE_ADDED = "action.evidence_added"
    ACTION_EVIDENCE_REMOVED = "action.evidence_removed"
    ACTION_COMMENT_ADDED = "action.comment_added"
    REPORT_IMPORTED = "report.imported"
    # Found by the daily tick (app.services.reminders), at most once per action and day.
    ACTION_OVERDUE = "action.overdue"
    ACTION_DUE_SOON = "action.due_soon"
