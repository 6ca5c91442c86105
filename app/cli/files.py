"""Evidence files in the data directory: `afi files prune`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from app.cli.common import err, progress_bar
from app.cli.preflight import require_database

app = typer.Typer(help="Evidence files in the data directory.", no_args_is_help=True)


@app.command()
def prune(
    older_than_hours: Annotated[
        float,
        typer.Option(
            min=0,
            metavar="HOURS",
            help="Only files last written longer ago than this: an upload in progress keeps "
            "its file.",
        ),
    ] = 24,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; remove nothing.")
    ] = False,
) -> None:
    """Remove stored files that no evidence refers to (left by uploads whose transaction
    failed) and unfinished uploads. Deleted evidence keeps its file."""
    require_database()
    from app.db import database
    from app.services import pruning

    with progress_bar("Checking files") as progress:
        summary = pruning.prune_files(
            readers=database.reader,
            older_than=timedelta(hours=older_than_hours),
            dry_run=dry_run,
            progress=progress,
        )
    verb = "Would remove" if dry_run else "Removed"
    err.print(
        f"{verb} {len(summary.blobs)} unreferenced files ({summary.bytes} bytes) "
        f"and {summary.uploads} unfinished uploads."
    )
