"""Moving data between databases: `afi dump` and `afi restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import migrate
from app.cli.common import err
from app.errors import AppError
from app.services import dump as service

app = typer.Typer()


@app.command()
def dump(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The JSON Lines file to write.")],
) -> None:
    """Write every table (and the evidence files, into FILE.evidence.tar) for `afi restore`."""
    from app.db import database

    with database.reader(snapshot=True) as connection:
        summary = service.dump(connection=connection, path=file)
    total = sum(summary.rows.values())
    err.print(f"Wrote {total} rows and {summary.files} evidence files to {file}.")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load a dump into an empty database (migrated first), all in one transaction."""
    from app.db import SessionLocal

    migrate.upgrade()
    try:
        with SessionLocal.begin() as session:
            summary = service.restore(connection=session.connection(), path=file)
    except AppError as exc:
        err.print(f"[red]{file}: {exc.detail}[/red]")
        raise typer.Exit(2) from exc
    total = sum(summary.rows.values())
    err.print(f"Restored {total} rows and {summary.files} evidence files from {file}.")
