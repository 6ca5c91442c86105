"""The background worker: takes new events into the feed (and, with webhooks, fans them out),
writes the daily reminders once a day, delivers webhooks, and keeps the trend's figures of
each day once it has ended (a batch of days a pass until none is missing). `afi worker` runs
it; so does `afi serve`, in a thread, unless `--no-worker`.

Each step is a unit of work of its own, so a pass never holds a transaction open while it
waits for anything but the database. Tests drive it with `run_once` and the clock
(app.clock), never by waiting."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date, datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.services import (
    day_figures,
    deliveries,
    digests,
    event_feed,
    mailer,
    reminders,
    webhook_sender,
)
from app.settings import get_settings

logger = logging.getLogger("afi.worker")
# Deliveries claimed per pass, and sent at once (each in a thread of its own).
DELIVERY_BATCH = 20
SENDERS = 8


@dataclass
class PassSummary:
    """What one pass did."""

    sequenced: int = 0
    fanned_out: int = 0
    attempted: int = 0
    mailed: int = 0
    reminded_on: date | None = None
    figures_kept: int = 0  # days whose trend figures were counted and kept

    @property
    def busy(self) -> bool:
        """Whether there may be more to do right away (a full batch of events or attempts)."""
        return (
            self.sequenced >= event_feed.SEQUENCE_BATCH
            or self.attempted >= DELIVERY_BATCH
            or self.mailed >= DELIVERY_BATCH
        )


def run_tick(*, sessions: sessionmaker[Session], today: date) -> dict[str, int]:
    """The daily reminders of `today`, a batch of actions per transaction (each batch is
    idempotent, so a tick cut short is finished by the next); returns how many reminders of
    each type `today` has."""
    after_id: int | None = 0
    while after_id is not None:
        with sessions.begin() as session:
            after_id = reminders.tick_batch(session=session, today=today, after_id=after_id)
    with sessions() as session:
        return reminders.written_on(session=session, today=today)


def make_digests(*, sessions: sessionmaker[Session], today: date) -> None:
    """The e-mail digests of `today`, a batch of owners per transaction (idempotent too)."""
    after_id: int | None = 0
    while after_id is not None:
        with sessions.begin() as session:
            after_id = digests.make_batch(
                session=session, today=today, now=clock.utcnow(), after_owner_id=after_id
            )


def keep_day_figures(*, sessions: sessionmaker[Session], now: datetime) -> int:
    """Count and keep the trend's figures of the newest batch of ended days not kept yet, and
    their groups' (app.services.day_figures): the states read in a read of their own, the rows
    written in a short transaction after it. Returns how many days were kept (0: none was
    missing)."""
    with sessions() as session:
        stale = day_figures.other_zones(session)
        batch = day_figures.missing_batch(db=session, latest=day_figures.latest_to_keep(now))
        days = day_figures.count(db=session, first=batch[0], last=batch[1]) if batch else []
    if stale or days:
        with sessions.begin() as session:
            # Always, not only when the read saw some: a row of another zone written since
            # would make the insert skip that day, and the next pass count it again, forever.
            day_figures.forget_other_zones(session=session)
            if batch and days:
                day_figures.keep(session=session, first=batch[0], days=days)
    return len(days)


def keep_all_day_figures(*, sessions: sessionmaker[Session], now: datetime) -> int:
    """Every ended day's figures not kept yet, a batch at a time (`afi keep-figures`)."""
    total = 0
    while kept := keep_day_figures(sessions=sessions, now=now):
        total += kept
    return total


class Worker:
    def __init__(
        self, *, sessions: sessionmaker[Session] | None = None, http: httpx.Client | None = None
    ) -> None:
        if sessions is None:
            from app.db import SessionLocal

            sessions = SessionLocal
        self.sessions = sessions
        self.http = http or webhook_sender.client()
        # The last day whose reminders this worker wrote (in AFI_TIMEZONE).
        self.ticked_on: date | None = None

    def close(self) -> None:
        self.http.close()

    def run_once(self) -> PassSummary:
        """One pass: today's reminders and e-mail digests if this worker has not written them
        yet; new events into the feed, each queued for the webhooks that want it; the due
        deliveries and digests; the trend's figures of a batch of ended days not kept yet."""
        summary = PassSummary()
        today = clock.today()
        if self.ticked_on != today:
            run_tick(sessions=self.sessions, today=today)
            make_digests(sessions=self.sessions, today=today)
            self.ticked_on = summary.reminded_on = today
        with self.sessions.begin() as session:
            event_ids = event_feed.sequence(session=session)
            summary.sequenced = len(event_ids)
            summary.fanned_out = deliveries.fan_out(
                session=session, event_ids=event_ids, now=clock.utcnow()
            )
        summary.attempted = self.deliver_due()
        summary.mailed = self.mail_due()
        summary.figures_kept = keep_day_figures(sessions=self.sessions, now=clock.utcnow())
        return summary

    def mail_due(self) -> int:
        """Send the due digests, one after the other; returns how many were tried."""
        with self.sessions.begin() as session:
            claimed = mailer.claim(session=session, now=clock.utcnow(), limit=DELIVERY_BATCH)
        for mail in claimed:
            error = mailer.send(mail)
            with self.sessions.begin() as session:
                mailer.record(session=session, mail=mail, error=error, now=clock.utcnow())
        return len(claimed)

    def deliver_due(self) -> int:
        """Claim the due deliveries (committed before any is sent), send them at once, and
        record each outcome as it comes in; returns how many were attempted."""
        with self.sessions.begin() as session:
            claimed = deliveries.claim(session=session, now=clock.utcnow(), limit=DELIVERY_BATCH)
        if not claimed:
            return 0
        with ThreadPoolExecutor(max_workers=min(len(claimed), SENDERS)) as senders:
            sending = {
                senders.submit(
                    webhook_sender.send, http=self.http, claimed=attempt, at=clock.utcnow()
                ): attempt
                for attempt in claimed
            }
            for done in as_completed(sending):
                with self.sessions.begin() as session:
                    deliveries.record(
                        session=session,
                        claimed=sending[done],
                        outcome=done.result(),
                        now=clock.utcnow(),
                    )
        return len(claimed)

    def run_forever(self, stop: threading.Event) -> None:
        """Passes until `stop` is set: at once while busy, else every AFI_WORKER_POLL_SECONDS.
        A failing pass (the database away) is logged and tried again after the pause."""
        poll = get_settings().worker_poll_seconds
        while not stop.is_set():
            try:
                busy = self.run_once().busy
            except Exception:
                logger.exception("worker pass failed; trying again in %s s", poll)
                busy = False
            if not busy:
                stop.wait(poll)
