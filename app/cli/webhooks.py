"""Webhook subscriptions: `afi webhook add | list | remove`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from app.cli.common import err
from app.cli.preflight import require_database
from app.enums import EventType
from app.errors import AppError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Webhook subscriptions.", no_args_is_help=True)


@app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to POST the events.")],
    event: Annotated[list[EventType], typer.Option(help="An event type to send (repeatable).")],
    report: Annotated[
        int | None, typer.Option(metavar="ID", help="Only events of this report.")
    ] = None,
    owner: Annotated[
        int | None, typer.Option(metavar="ID", help="Only events of this owner's actions.")
    ] = None,
    force: Annotated[str | None, typer.Option(help="Only events of this force's reports.")] = None,
) -> None:
    """Subscribe URL to events; prints only the signing secret on stdout (shown this once)."""
    require_database()
    from app.db import SessionLocal
    from app.principal import system
    from app.schemas.webhooks import WebhookCreate
    from app.services import webhooks

    try:
        data = WebhookCreate(url=url, events=event, report_id=report, owner_id=owner, force=force)
        with SessionLocal.begin() as session:
            hook = webhooks.create(session=session, data=data, actor=system("command line"))
            webhook_id, secret = hook.id, hook.secret
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"Invalid {first['loc'][0]}: {first['msg']}", style="red", markup=False)
        raise typer.Exit(2) from None
    except AppError as exc:
        err.print(exc.detail, style="red", markup=False)
        raise typer.Exit(2) from None
    err.print(f"Created webhook {webhook_id}. Its secret is shown only this once.", markup=False)
    sys.stdout.write(secret + "\n")


@app.command("list")
def webhook_list() -> None:
    """List webhooks (never their secrets): one a line, tab-separated."""
    require_database()
    from app.db import SessionLocal
    from app.services import webhooks

    with SessionLocal() as session:
        for hook in webhooks.listed(session=session):
            filters = [
                f"{name} {value}"
                for name, value in (
                    ("report", hook.report_id),
                    ("owner", hook.owner_id),
                    ("force", hook.force),
                )
                if value is not None
            ]
            state = "disabled" if hook.disabled_at else "enabled"
            sys.stdout.write(
                "\t".join([str(hook.id), hook.url, ",".join(hook.events), *filters, state]) + "\n"
            )


@app.command("remove")
def webhook_remove(webhook_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Remove the webhook with this id, with its deliveries and their log."""
    from app.services import webhooks

    with _transaction() as session:
        webhooks.remove(session=session, webhook_id=webhook_id)
    err.print(f"Removed webhook {webhook_id}.", markup=False)


@app.command("enable")
def webhook_enable(webhook_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Enable the webhook with this id again after it was disabled for failing."""
    from app.services import webhooks

    with _transaction() as session:
        webhooks.enable(session=session, webhook_id=webhook_id)
    err.print(f"Enabled webhook {webhook_id}.", markup=False)


@contextmanager
def _transaction() -> Iterator[Session]:
    """A command's one transaction; its error (an unknown id) reported with exit code 2."""
    require_database()
    from app.db import SessionLocal

    try:
        with SessionLocal.begin() as session:
            yield session
    except AppError as exc:
        err.print(exc.detail, style="red", markup=False)
        raise typer.Exit(2) from None
