"""The daily e-mail digests: what each owner with an e-mail address hears once a day.

An owner's digest lists their actions overdue, due soon (within AFI_DUE_SOON_DAYS) and whose
sign-off was refused since their last digest; owners that approvers' tokens act for (roles
approver and admin, `owner_id` set) also get the actions waiting for sign-off. Nothing to say,
no mail; an owner with `digest_opt_out` gets none. Each digest is written whole (plain text and
HTML) into mail_digest, unique per owner and day, and then sent by app.services.mailer."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.enums import ActionStatus, EventKind, Role
from app.models import Action, ActionEvent, ApiToken, Finding, MailDigest, Owner
from app.services.overdue_rule import ACTIVE_STATUSES
from app.settings import get_settings

_DIGEST = cast(Table, MailDigest.__table__)
# Items listed per section; the rest are counted.
SHOWN = 25


@dataclass
class Section:
    title: str
    total: int
    rows: list[Any]


def _still_to_do(owner_id: int) -> Any:
    return (
        select(Action.id, Action.reference, Action.title, Action.due_date)
        .join(Finding, Finding.id == Action.finding_id)
        .where(
            Action.owner_id == owner_id,
            Action.status.in_(ACTIVE_STATUSES),
            Finding.withdrawn_at.is_(None),
        )
    )


def _section(session: Session, title: str, query: Any) -> Section:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.execute(query.limit(SHOWN))) if total else []
    return Section(title=title, total=total, rows=rows)


def _sections(
    *, session: Session, owner: Owner, today: date, since: datetime, approver: bool
) -> list[Section]:
    horizon = today + timedelta(days=get_settings().due_soon_days)
    mine = _still_to_do(owner.id)
    sections = [
        _section(
            session,
            "Overdue",
            mine.where(Action.due_date < today).order_by(Action.due_date, Action.id),
        ),
        _section(
            session,
            f"Due within {get_settings().due_soon_days} days",
            mine.where(Action.due_date >= today, Action.due_date <= horizon).order_by(
                Action.due_date, Action.id
            ),
        ),
        _section(
            session,
            "Sign-off refused",
            select(Action.id, Action.reference, Action.title, Action.due_date)
            .where(
                Action.owner_id == owner.id,
                Action.id.in_(
                    select(ActionEvent.action_id).where(
                        ActionEvent.kind == EventKind.SIGN_OFF_REFUSED.value,
                        ActionEvent.created_at >= since,
                    )
                ),
            )
            .order_by(Action.id),
        ),
    ]
    if approver:
        sections.append(
            _section(
                session,
                "Waiting for sign-off",
                select(Action.id, Action.reference, Action.title, Action.due_date)
                .where(Action.status == ActionStatus.PENDING_SIGN_OFF)
                .order_by(Action.updated_at, Action.id),
            )
        )
    return [section for section in sections if section.total]


def _approver_owners(*, session: Session, now: datetime) -> set[int]:
    rows = session.scalars(
        select(ApiToken.owner_id).where(
            ApiToken.owner_id.is_not(None),
            ApiToken.role.in_([Role.APPROVER.value, Role.ADMIN.value]),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    )
    return {owner_id for owner_id in rows if owner_id is not None}


def _line(row: Any) -> str:
    due = f" (due {row.due_date.isoformat()})" if row.due_date else ""
    return f"{row.reference}: {row.title}{due}"


def render(*, owner: Owner, today: date, sections: list[Section]) -> tuple[str, str, str]:
    """The subject, plain text and HTML of a digest."""
    counts = ", ".join(f"{section.total} {section.title.lower()}" for section in sections)
    subject = f"AFI Tracker, {today.isoformat()}: {counts}"
    text = [f"Dear {owner.name},", "", f"Your actions on {today.isoformat()}:", ""]
    page = [f"<p>Dear {html.escape(owner.name)},</p>"]
    page.append(f"<p>Your actions on {today.isoformat()}:</p>")
    for section in sections:
        text.append(f"{section.title} ({section.total}):")
        page.append(f"<h2>{html.escape(section.title)} ({section.total})</h2><ul>")
        for row in section.rows:
            text.append(f"- {_line(row)}")
            page.append(f"<li>{html.escape(_line(row))}</li>")
        if section.total > len(section.rows):
            more = f"and {section.total - len(section.rows)} more"
            text.append(f"- {more}")
            page.append(f"<li>{more}</li>")
        text.append("")
        page.append("</ul>")
    footer = "You get this digest because you own actions in AFI Tracker; ask an editor to "
    footer += "set digest_opt_out on your owner record to stop it."
    text.append(footer)
    page.append(f"<p><small>{html.escape(footer)}</small></p>")
    return subject, "\n".join(text) + "\n", "\n".join(page) + "\n"


# Owners looked at per transaction: the day's digests are made a batch at a time, so that no
# transaction holds SQLite's write lock for long.
OWNER_BATCH = 200


def plan_batch(
    *, session: Session, today: date, now: datetime, after_owner_id: int = 0
) -> tuple[list[dict[str, Any]], int | None]:
    """The digests of `today` not written yet for up to OWNER_BATCH owners with ids after
    `after_owner_id`, as mail_digest rows, without writing them; and the last owner id looked
    at, None when there are no more."""
    approvers = _approver_owners(session=session, now=now)
    owners = session.scalars(
        select(Owner)
        .where(
            Owner.id > after_owner_id,
            Owner.email.is_not(None),
            Owner.digest_opt_out.is_(False),
        )
        .order_by(Owner.id)
        .limit(OWNER_BATCH)
    ).all()
    if not owners:
        return [], None
    last_sent = dict(
        session.execute(
            select(MailDigest.owner_id, func.max(MailDigest.created_at))
            .where(
                MailDigest.digest_date < today,
                MailDigest.owner_id.in_([owner.id for owner in owners]),
            )
            .group_by(MailDigest.owner_id)
        ).all()
    )
    done_today = set(
        session.scalars(
            select(MailDigest.owner_id).where(
                MailDigest.digest_date == today,
                MailDigest.owner_id.in_([owner.id for owner in owners]),
            )
        )
    )
    rows = []
    for owner in owners:
        if owner.id in done_today:
            continue
        since = last_sent.get(owner.id) or now - timedelta(days=1)
        sections = _sections(
            session=session, owner=owner, today=today, since=since, approver=owner.id in approvers
        )
        if not sections:
            continue
        subject, text, page = render(owner=owner, today=today, sections=sections)
        rows.append(
            {
                "owner_id": owner.id,
                "digest_date": today,
                "recipient": owner.email,
                "subject": subject,
                "body_text": text,
                "body_html": page,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return rows, owners[-1].id


def plan_day(*, session: Session, today: date, now: datetime) -> list[dict[str, Any]]:
    """Every digest of `today` not written yet, without writing them (what `afi mail --dry-run`
    shows); made whether AFI_SMTP_URL is set or not."""
    planned: list[dict[str, Any]] = []
    after_id: int | None = 0
    while after_id is not None:
        rows, after_id = plan_batch(session=session, today=today, now=now, after_owner_id=after_id)
        planned.extend(rows)
    return planned


def make_batch(
    *, session: Session, today: date, now: datetime, after_owner_id: int = 0
) -> int | None:
    """Write the digests of `today` not written yet for up to OWNER_BATCH owners with ids
    after `after_owner_id` (none without AFI_SMTP_URL); returns the last owner id looked at,
    None when there are no more."""
    if get_settings().smtp_url is None:
        return None
    rows, last_id = plan_batch(session=session, today=today, now=now, after_owner_id=after_owner_id)
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(_DIGEST).on_conflict_do_nothing(
            index_elements=["owner_id", "digest_date"]
        )
        session.execute(statement, rows)
    return last_id


def count_by_status(*, session: Session, digest_date: date) -> dict[str, int]:
    """How many digests of a day are pending, sent or failed (what `afi mail` reports)."""
    found = session.execute(
        select(MailDigest.status, func.count())
        .where(MailDigest.digest_date == digest_date)
        .group_by(MailDigest.status)
    ).all()
    counts = {"pending": 0, "sent": 0, "failed": 0}
    counts.update({status: total for status, total in found})
    return counts
