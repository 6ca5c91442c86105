"""Checks a command makes before it touches the database, and the one- or two-line messages
that configuration and database errors become (exit code 2; a traceback only with --debug).

Nothing here prints a password, a token or the parameters of a SQL statement."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from pydantic import ValidationError

EXIT_CONFIG = 2

# What to do about each setting that can be wrong, shown after the error.
_FIXES = {
    "timezone": "set AFI_TIMEZONE to an IANA time zone such as Europe/London",
    "database_url": "set AFI_DATABASE_URL to sqlite:///path/to/afi.db or "
    "postgresql+psycopg://user:password@host:5432/afi",
}


class CliError(Exception):
    """A problem the user can fix: its lines are printed as they are, with exit code 2."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def settings() -> Settings:
    """The settings, or a CliError naming each bad variable (never its value if secret)."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        raise _settings_error(exc) from exc


def _settings_error(exc: ValidationError) -> CliError:
    problems, fixes = [], []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        if field == "database_url":
            message += f" (got {safe_url(os.environ.get('AFI_DATABASE_URL', ''))})"
        problems.append(f"AFI_{field.upper()}: {message}")
        fixes.append(_FIXES.get(field, f"correct AFI_{field.upper()}"))
    return CliError(
        f"Invalid setting: {'; '.join(problems)}.",
        f"Fix: {'; '.join(fixes)} (environment or .env file).",
    )


def safe_url(url: str) -> str:
    """The URL without its password; something that is not a URL is not repeated."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "a value that is not a database URL"


def database_url() -> URL:
    url = settings().database_url
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise CliError(
            "AFI_DATABASE_URL is not a database URL.", f"Fix: {_FIXES['database_url']}."
        ) from exc


def sqlite_path(url: URL) -> Path | None:
    """The absolute path of a SQLite database file; None for PostgreSQL or in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(os.path.abspath(url.database))  # as SQLite will open it: from here


def location() -> str:
    """Where the database is, for people: an absolute path, or the URL without its password."""
    url = database_url()
    path = sqlite_path(url)
    return str(path) if path is not None else url.render_as_string(hide_password=True)


def require_database(*, create: bool = False, schema: bool = True) -> None:
    """Fail with a CliError before running a command the database cannot serve.

    `create`: the command may create a SQLite file (it migrates first): its folder must exist
    and be a folder. Otherwise the file must already exist (no empty file is left behind).
    `schema`: the database must be at this version's latest migration."""
    url = database_url()
    path = sqlite_path(url)
    if path is not None:
        if create:
            _check_folder(path)
        elif not path.is_file():
            _check_folder(path)
            raise CliError(
                f"No database at {path}.",
                "Fix: run `afi db upgrade` (or `afi serve`) to create it, or set "
                "AFI_DATABASE_URL to the database you mean.",
            )
    if schema and not create:
        check_schema()


def _check_folder(path: Path) -> None:
    folder = path.parent
    fix = "Fix: create that folder, or set AFI_DATABASE_URL to a file in a writable folder."
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise CliError(f"Cannot use the database at {path}: {parent} is not a folder.", fix)
    if not folder.is_dir():
        raise CliError(f"Cannot use the database at {path}: {folder} does not exist.", fix)
    if not path.exists() and not os.access(folder, os.W_OK):
        raise CliError(f"Cannot create the database at {path}: {folder} is not writable.", fix)


def check_schema() -> None:
    """The database's schema is this version's latest, or a CliError says what to run."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from app import migrate
    from app.db import database

    with database.reader() as connection:
        if not inspect(connection).has_table("alembic_version"):
            current = None
        else:
            current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        raise CliError(
            f"The database at {location()} has no schema.",
            "Fix: run `afi db upgrade` (or `afi serve`, which migrates at start).",
        )
    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_current_head()
    if current == head:
        return
    known = {revision.revision for revision in script.walk_revisions()}
    if current not in known:
        raise CliError(
            f"The database at {location()} is at revision {current}, which this version of "
            "afi does not know (a newer afi migrated it).",
            "Fix: use the newer afi.",
        )
    raise CliError(
        f"The database at {location()} is at revision {current}, not the latest ({head}).",
        "Fix: run `afi db upgrade`.",
    )


def describe(exc: BaseException) -> tuple[str, ...] | None:
    """The lines to print for an error a user can act on; None for anything else (a bug)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError

    if isinstance(exc, CliError):
        return exc.lines
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return _settings_error(exc).lines
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return (
            "AFI_DATABASE_URL is not a URL this service can use.",
            f"Fix: {_FIXES['database_url']}.",
        )
    if isinstance(exc, DBAPIError):
        # The driver's own message: never SQLAlchemy's, which carries the statement and its
        # parameters (a token's hash, say).
        reason = (
            str(exc.orig).strip().splitlines()[0]
            if str(exc.orig).strip()
            else type(exc.orig).__name__
        )
        return (
            f"Cannot use the database at {_quiet_location()}: {reason}",
            "Fix: check AFI_DATABASE_URL and that the database is reachable and writable; "
            "run with --debug for details.",
        )
    if isinstance(exc, SQLAlchemyError):
        return (
            f"Cannot use the database at {_quiet_location()}: {type(exc).__name__}.",
            "Run with --debug for details.",
        )
    return None


def _quiet_location() -> str:
    try:
        return location()
    except CliError:
        return "AFI_DATABASE_URL"
