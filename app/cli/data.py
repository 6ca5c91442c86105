"""Moving data between databases: `afi dump` and `afi restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli import preflight
from app.cli.common import err, progress_bar
from app.errors import AppError

app = typer.Typer()


@app.command()
def dump(
    file: Annotated[
        Path,
        typer.Argument(dir_okay=False, metavar="FILE", help="The JSON Lines file to write."),
    ],
) -> None:
    """Write every table (and the evidence files, into FILE.evidence.tar) for `afi restore`."""
    preflight.require_database()
    from app.db import database
    from app.services import dump as service

    with progress_bar("Dumping") as progress, database.reader(snapshot=True) as connection:
        summary = service.dump(connection=connection, path=file, progress=progress)
    total = sum(summary.rows.values())
    err.print(f"Wrote {total} rows and {summary.files} evidence files to {file}.", markup=False)


@app.command()
def restore(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, metavar="FILE", help="A dump to load."
        ),
    ],
) -> None:
    """Load a dump into an empty database (migrated first), all in one transaction."""
    preflight.require_database(create=True)
    from app import migrate
    from app.db import SessionLocal
    from app.services import dump as service

    migrate.upgrade()
    try:
        with progress_bar("Restoring") as progress, SessionLocal.begin() as session:
            summary = service.restore(connection=session.connection(), path=file, progress=progress)
    except AppError as exc:
        err.print(f"[red]{file}: {exc.detail}[/red]")
        raise typer.Exit(2) from exc
    total = sum(summary.rows.values())
    err.print(
        f"Restored {total} rows and {summary.files} evidence files from {file}.", markup=False
    )
