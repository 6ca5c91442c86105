from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class MailDigest(Base):
    """One owner's e-mail digest of one day, written whole (subject and both bodies) when the
    day's digests are made, then sent at least once. Unique per owner and day: a digest is
    made once a day however often the worker ticks."""

    __tablename__ = "mail_digest"
    __table_args__ = (UniqueConstraint("owner_id", "digest_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id", ondelete="CASCADE"))
    digest_date: Mapped[date]
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # pending, sent or failed (given up).
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    # When it is due to be sent (again); while an attempt is in flight, when its lease ends.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
