"""API tokens: `afi token create | list | revoke`."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from app.cli.common import err
from app.cli.preflight import require_database
from app.enums import Role
from app.errors import AppError

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A name to tell the token apart, e.g. ci-bot.")],
    role: Annotated[Role, typer.Option(help="What the token may do.")],
    user: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="The person (or machine account) it belongs to; default: the token's name. "
            "Sign-off is refused under any token of the user who asked for it.",
        ),
    ] = None,
    owner_id: Annotated[
        int | None, typer.Option(metavar="ID", help="The owner this token acts as.")
    ] = None,
    expires_in: Annotated[
        int | None,
        typer.Option(min=1, metavar="DAYS", help="Days until it expires (default: never)."),
    ] = None,
) -> None:
    """Create a token and print only its secret on stdout: TOKEN=$(afi token create ...)."""
    require_database()
    from app.db import SessionLocal
    from app.services import tokens

    try:
        with SessionLocal.begin() as session:
            token, secret = tokens.create_token(
                session=session,
                name=name,
                role=role,
                user=user,
                created_by=f"command line ({_os_user()})",
                owner_id=owner_id,
                expires_in_days=expires_in,
            )
            role_name, prefix, token_user = token.role, token.prefix, token.user_name
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    err.print(
        f"Created {role_name} token {name!r} ({prefix}…) for user {token_user!r}. "
        "It is shown only this once."
    )
    sys.stdout.write(secret + "\n")


def _os_user() -> str:
    """Who runs the command, as the operating system knows them (for the token's audit)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@app.command("list")
def token_list() -> None:
    """List tokens (never their secrets): one a line, tab-separated."""
    require_database()
    from app.db import SessionLocal
    from app.services import tokens

    with SessionLocal() as session:
        for token in tokens.list_tokens(session=session):
            state = "revoked" if token.revoked_at else "active"
            expires = token.expires_at.date().isoformat() if token.expires_at else "never"
            used = (
                token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
            )
            # Plain lines: never wrapped, whatever reads them.
            sys.stdout.write(
                f"{token.id}\t{token.name}\tuser {token.user_name}\t{token.role}\t"
                f"{token.prefix}…\t{state}\texpires {expires}\tlast used {used}\t"
                f"made by {token.created_by or '?'}\n"
            )


@app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Revoke the token called NAME; requests with it are refused from now on."""
    require_database()
    from app.db import SessionLocal
    from app.services import tokens

    try:
        with SessionLocal.begin() as session:
            tokens.revoke_token(session=session, name=name)
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    err.print(f"Revoked {name!r}.")
