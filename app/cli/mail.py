"""`afi mail`: make today's e-mail digests and send them now, or (--dry-run) show them."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, err
from app.cli.preflight import require_database

app = typer.Typer()

# Exit code when a digest could not be sent (it stays queued: the worker tries it again).
EXIT_NOT_SENT = 1


@app.command(epilog="Exit codes: 0 every digest of today sent; 1 some not sent yet; 2 error.")
def mail(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the digests a run now would make; write and send none."
        ),
    ] = False,
) -> None:
    """Make today's e-mail digests (once per owner and day, as the worker does) and send the
    ones due now, rather than waiting for the worker's next pass."""
    require_database()
    from app import clock
    from app.db import SessionLocal
    from app.services import digests
    from app.settings import get_settings

    today, now = clock.today(), clock.utcnow()
    if dry_run:
        with SessionLocal() as session:
            planned = digests.plan_day(session=session, today=today, now=now)
            waiting = digests.count_by_status(session=session, digest_date=today)["pending"]
        out = console()
        for row in planned:
            out.print(f"To: {row['recipient']}", markup=False)
            out.print(f"Subject: {row['subject']}", markup=False)
            out.print("", markup=False)
            out.print(row["body_text"], markup=False)
        off = "" if get_settings().smtp_url else " (AFI_SMTP_URL is not set: e-mail is off)"
        err.print(
            f"Dry run for {today.isoformat()}: {len(planned)} digest(s) to make, {waiting} "
            f"made and waiting to be sent; nothing written, nothing sent{off}.",
            markup=False,
        )
        return
    if get_settings().smtp_url is None:
        err.print("[red]AFI_SMTP_URL is not set: e-mail is off.[/red]")
        raise typer.Exit(2)
    from app.worker import DELIVERY_BATCH, Worker, make_digests

    with SessionLocal() as session:
        before = sum(digests.count_by_status(session=session, digest_date=today).values())
    make_digests(sessions=SessionLocal, today=today)
    work = Worker(sessions=SessionLocal)
    try:
        # A batch at a time; a refused digest is put off (backoff), so this ends.
        while work.mail_due() >= DELIVERY_BATCH:
            pass
    finally:
        work.close()
    with SessionLocal() as session:
        counts = digests.count_by_status(session=session, digest_date=today)
    made = sum(counts.values()) - before
    err.print(
        f"Digests for {today.isoformat()}: {made} made now; {counts['sent']} sent, "
        f"{counts['pending']} waiting (the worker tries again), {counts['failed']} given up.",
        markup=False,
    )
    if counts["pending"]:
        raise typer.Exit(EXIT_NOT_SENT)
