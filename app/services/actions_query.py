"""The read path for actions: one SQL statement per page, rows straight to plain dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.enums import ActionStatus
from app.models import Action, Finding, Owner, Report, Section

# Statuses in which a passed due date makes an action overdue.
ACTIVE_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED)

_COLUMNS = (
    Action.id,
    Action.reference,
    Action.title,
    Action.description,
    Action.finding_id,
    Finding.reference.label("finding_reference"),
    Finding.kind,
    Finding.report_id,
    Report.force,
    Report.year_label.label("year"),
    Report.pillar,
    Section.heading.label("question"),
    Action.owner_id,
    Owner.name.label("owner_name"),
    Owner.email.label("owner_email"),
    Owner.team.label("owner_team"),
    Action.status,
    Action.priority,
    Action.due_date,
    Action.progress_note,
    Action.created_at,
    Action.updated_at,
    Action.closed_at,
    Action.version,
)


def base_query() -> Select[*tuple[Any, ...]]:
    return (
        select(*_COLUMNS)
        .join(Finding, Action.finding_id == Finding.id)
        .join(Report, Finding.report_id == Report.id)
        .outerjoin(Section, Finding.section_id == Section.id)
        .outerjoin(Owner, Action.owner_id == Owner.id)
    )


def days_overdue(*, status: str, due_date: date | None, as_of: date) -> int:
    if due_date is None or status not in ACTIVE_STATUSES or due_date >= as_of:
        return 0
    return (as_of - due_date).days


def row_to_dict(row: Any, *, as_of: date) -> dict[str, Any]:
    data = dict(row._mapping)
    owner_id = data["owner_id"]
    data["owner"] = (
        {
            "id": owner_id,
            "name": data.pop("owner_name"),
            "email": data.pop("owner_email"),
            "team": data.pop("owner_team"),
        }
        if owner_id is not None
        else None
    )
    if owner_id is None:
        del data["owner_name"], data["owner_email"], data["owner_team"]
    overdue = days_overdue(status=data["status"], due_date=data["due_date"], as_of=as_of)
    data["is_overdue"] = overdue > 0
    data["days_overdue"] = overdue
    return data


def list_actions(
    *, session: Session, as_of: date, statuses: Sequence[str] = (), limit: int = 50
) -> list[dict[str, Any]]:
    query = base_query().order_by(Action.id).limit(limit)
    if statuses:
        query = query.where(Action.status.in_(statuses))
    return [row_to_dict(row, as_of=as_of) for row in session.execute(query)]
