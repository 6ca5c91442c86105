"""Running the service: `afi serve` and `afi db`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import make_url

from app import migrate
from app.cli.common import err
from app.cli.reports import load_files, report_files
from app.settings import get_settings

app = typer.Typer()
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(revision=revision)
    err.print(f"Database at {revision}.")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' empties the schema)."""
    migrate.downgrade(revision=revision)
    err.print(f"Database at {revision}.")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Migrate the database, load the seeds if it has no report yet, and serve the API."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        # Each worker would hold its own connections to one file; writers would queue on its
        # lock and fail with 503s under load. PostgreSQL is the database for several processes.
        err.print(
            f"--workers {workers} needs PostgreSQL: SQLite serves one process. "
            "Set AFI_DATABASE_URL to a postgresql+psycopg:// URL, or run one worker.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    check_writable_folders()
    prepare_database(base_url=browse_url(host, port))
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        server_header=False,
        # Client addresses (which rate limiting counts by) come from X-Forwarded-For only when
        # the service is told which proxies to trust.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def browse_url(host: str, port: int) -> str:
    """The service's address for the start-up hint: AFI_PUBLIC_URL when set; a wildcard bind
    address (0.0.0.0, ::), which no client connects to, as localhost."""
    public = get_settings().public_url
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
    settings = get_settings()
    folders: list[tuple[str, Path, str]] = []
    url = make_url(settings.database_url)
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


def prepare_database(base_url: str = "http://127.0.0.1:8000") -> None:
    """Bring the schema to head and, on a database with no report yet, load the seeds."""
    from app.db import SessionLocal
    from app.services import reports, tokens

    migrate.upgrade()
    with SessionLocal() as session:
        empty = not reports.any_report(session=session)
    seeds_dir = get_settings().seeds_dir
    if empty and seeds_dir.is_dir():
        load_files(report_files([seeds_dir]), metadata={})
    with SessionLocal() as session:
        has_token = tokens.any_token(session=session)
    if not has_token:
        err.print(
            "No API token exists yet. Create the first admin token with:\n"
            "  TOKEN=$(afi token create --name admin --role admin)\n"
            'then call the API with: curl -H "Authorization: Bearer $TOKEN" '
            f"{base_url}/api/v1/reports"
        )
