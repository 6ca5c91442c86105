"""Running the service: `afi serve` and `afi db`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli import preflight
from app.cli.common import err
from app.cli.reports import load_files, report_files

app = typer.Typer()
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)

RevisionArg = Annotated[str | None, typer.Argument(metavar="REVISION", show_default=False)]
# The spelling of earlier versions, `afi db upgrade --revision X`, still works.
RevisionOpt = Annotated[str | None, typer.Option("--revision", hidden=True)]


@db_app.command("upgrade")
def db_upgrade(revision: RevisionArg = None, revision_option: RevisionOpt = None) -> None:
    """Apply migrations up to REVISION (default: head, the latest); creates the database."""
    from app import migrate

    target = revision or revision_option or "head"
    preflight.require_database(create=True)
    migrate.upgrade(revision=target)
    err.print(f"Database at {preflight.location()} is at {target}.", markup=False)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(metavar="REVISION", show_default=False)],
) -> None:
    """Revert migrations down to REVISION ('base' empties the schema)."""
    from app import migrate

    preflight.require_database(schema=False)
    migrate.downgrade(revision=revision)
    err.print(f"Database at {preflight.location()} is at {revision}.", markup=False)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do not run the background worker (event feed, reminders, webhooks) in this "
            "process: run `afi worker` instead.",
        ),
    ] = False,
) -> None:
    """Migrate the database, load the seeds if it has no report yet, and serve the API (with
    the background worker, unless --no-worker)."""
    import uvicorn

    from app.cli.worker import background_worker

    settings = preflight.settings()
    url = preflight.database_url()
    if workers > 1 and url.get_backend_name() == "sqlite":
        # Each worker would hold its own connections to one file; writers would queue on its
        # lock and fail with 503s under load. PostgreSQL is the database for several processes.
        err.print(
            f"--workers {workers} needs PostgreSQL: SQLite serves one process. "
            "Set AFI_DATABASE_URL to a postgresql+psycopg:// URL, or run one worker.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    preflight.require_database(create=True)
    check_writable_folders()
    prepare_database(base_url=browse_url(host, port))
    with background_worker(enabled=not no_worker):
        uvicorn.run(
            "app.main:app",
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            server_header=False,
            # Client addresses (which rate limiting counts by) come from X-Forwarded-For only
            # when the service is told which proxies to trust.
            proxy_headers=settings.forwarded_allow_ips is not None,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )


def browse_url(host: str, port: int) -> str:
    """The service's address for the start-up hint: AFI_PUBLIC_URL when set; a wildcard bind
    address (0.0.0.0, ::), which no client connects to, as localhost."""
    public = preflight.settings().public_url
    if public is not None:
        return public
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def check_writable_folders() -> None:
    """Exit 2 with one line when a folder the service writes to cannot be written by this user
    (a root-owned volume in a container, say): a SQLite database's folder, AFI_DATA_DIR."""
    settings = preflight.settings()
    folders: list[tuple[str, Path, str]] = []
    url = preflight.database_url()
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        # SQLite writes its journal beside the file: the folder, not only the file, is written.
        folders.append(
            ("the database", Path(os.path.abspath(url.database)).parent, "AFI_DATABASE_URL")
        )
    folders.append(("evidence files", Path(os.path.abspath(settings.data_dir)), "AFI_DATA_DIR"))
    for what, folder, variable in folders:
        # A folder not made yet is made in the nearest one that exists.
        existing = next(path for path in (folder, *folder.parents) if path.exists())
        if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
            continue
        uid = os.getuid()
        err.print(
            f"Cannot write {what} to {folder}: {existing} is not a folder user {uid} can write "
            f"to. Make it one (chown {uid} on a volume's host folder), or set {variable}.",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)


def afi_command() -> str:
    """How to run `afi` from here: its name when it is on PATH, else a full path."""
    if shutil.which("afi"):
        return "afi"
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "afi" and script.is_file():
        return str(script.resolve())
    return f"{sys.executable} -m app.cli"


def prepare_database(base_url: str = "http://127.0.0.1:8000") -> None:
    """Bring the schema to head and, on a database with no report yet, load the seeds."""
    from app import migrate
    from app.db import SessionLocal
    from app.services import reports, tokens

    err.print(f"Database: {preflight.location()}", markup=False, highlight=False)
    migrate.upgrade()
    with SessionLocal() as session:
        empty = not reports.any_report(session=session)
    seeds_dir = preflight.settings().seeds_dir
    if empty:
        if seeds_dir.is_dir():
            load_files(report_files([seeds_dir]), metadata={})
        else:
            err.print(
                f"Warning: no seeds folder at {os.path.abspath(seeds_dir)}; the database has no "
                "report yet (set AFI_SEEDS_DIR, or load reports with `afi seed PATH`).",
                style="yellow",
                markup=False,
                highlight=False,
            )
    with SessionLocal() as session:
        has_token = tokens.any_token(session=session)
    if not has_token:
        command = afi_command()
        err.print(
            "No API token exists yet. Create the first admin token with:\n"
            f"  TOKEN=$({command} token create --name admin --role admin)\n"
            "then call the API with:\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/reports',
            markup=False,
            highlight=False,
        )
