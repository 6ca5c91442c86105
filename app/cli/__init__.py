"""The `afi` command line."""

from __future__ import annotations

import typer

from app.cli import data, files, overdue, reports, server, tokens
from app.cli.server import prepare_database

cli = typer.Typer(help="AFI Tracker: follow up inspection findings.", no_args_is_help=True)
cli.add_typer(reports.app)
cli.add_typer(server.app)
cli.add_typer(server.db_app, name="db")
cli.add_typer(tokens.app, name="token")
cli.add_typer(data.app)
cli.add_typer(files.app, name="files")
cli.add_typer(overdue.app)

__all__ = ["cli", "main", "prepare_database"]


def main() -> None:
    cli()
