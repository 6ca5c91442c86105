"""Sending the digests (app.services.digests) through AFI_SMTP_URL, at least once: claimed in a
short transaction (SKIP LOCKED, a lease), sent with no transaction open, recorded after;
retried with the webhooks' backoff, given up after MAX_ATTEMPTS."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import MailDigest
from app.services.deliveries import backoff
from app.settings import get_settings

MAX_ATTEMPTS = 8
SMTP_TIMEOUT_SECONDS = 30
LEASE = timedelta(seconds=5 * SMTP_TIMEOUT_SECONDS + 60)


@dataclass(frozen=True)
class ClaimedMail:
    id: int
    attempt: int
    recipient: str
    subject: str
    body_text: str
    body_html: str


def claim(*, session: Session, now: datetime, limit: int) -> list[ClaimedMail]:
    found = session.scalars(
        select(MailDigest)
        .where(MailDigest.status == "pending", MailDigest.next_attempt_at <= now)
        .order_by(MailDigest.next_attempt_at, MailDigest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for digest in found:
        digest.attempts += 1
        digest.next_attempt_at = now + LEASE
        claimed.append(
            ClaimedMail(
                id=digest.id,
                attempt=digest.attempts,
                recipient=digest.recipient,
                subject=digest.subject,
                body_text=digest.body_text,
                body_html=digest.body_html,
            )
        )
    session.flush()
    return claimed


def record(*, session: Session, mail: ClaimedMail, error: str | None, now: datetime) -> None:
    digest = session.get(MailDigest, mail.id, with_for_update=True)
    if digest is None or digest.attempts != mail.attempt or digest.status != "pending":
        return
    digest.error = error
    if error is None:
        digest.status, digest.sent_at, digest.next_attempt_at = "sent", now, None
    elif mail.attempt >= MAX_ATTEMPTS:
        digest.status, digest.next_attempt_at = "failed", None
    else:
        digest.next_attempt_at = now + backoff(mail.attempt)
    session.flush()


def message(mail: ClaimedMail) -> EmailMessage:
    """The mail: plain text, with the HTML as its alternative."""
    built = EmailMessage()
    built["From"] = get_settings().mail_from
    built["To"] = mail.recipient
    built["Subject"] = mail.subject
    built.set_content(mail.body_text)
    built.add_alternative(mail.body_html, subtype="html")
    return built


def send(mail: ClaimedMail) -> str | None:
    """Send one mail; None if the server took it, else why not."""
    url = get_settings().smtp_url
    if url is None:
        return "AFI_SMTP_URL is not set"
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=SMTP_TIMEOUT_SECONDS)
        else:
            server = smtplib.SMTP(host, port or 25, timeout=SMTP_TIMEOUT_SECONDS)
        with server:
            if parse_qs(parts.query).get("starttls") == ["true"]:
                server.starttls(context=ssl.create_default_context())
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message(mail))
    # ValueError: what smtplib raises for credentials it cannot encode (not ASCII); recorded
    # like a refusal, so one bad mail is retried and given up rather than failing every pass.
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None
