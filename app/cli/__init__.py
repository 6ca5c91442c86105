"""The `afi` command line.

Settings are read only when a command needs them, so `afi --help` and `afi --version` work
whatever the environment. Configuration and database errors are one or two lines on stderr
and exit code 2; `--debug` (or AFI_DEBUG=1) shows the traceback instead."""

from __future__ import annotations

import os
from importlib import metadata
from typing import Annotated, Any

import typer

# Typer carries its own copy of Click: its classes are the ones to extend.
from typer import _click as click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from app.cli import data, files, mail, overdue, pack, reports, server, tokens, webhooks, worker
from app.cli.common import err
from app.cli.preflight import EXIT_CONFIG, describe
from app.cli.server import prepare_database


class _Option(TyperOption):
    """Help without Typer's `<bool>`, `<str>` placeholders: flags show none, values a name."""

    def display_type(self, ctx: click.Context) -> str:
        if self.is_flag:
            return ""
        label = super().display_type(ctx)[1:-1]
        if label.startswith("list[") and label.endswith("]"):
            label = label[5:-1]
        if "|" in label:
            return f"[{label}]"
        return self.metavar or (self.name or "value").upper()


class _Argument(TyperArgument):
    """Arguments shown as NAME (usage: NAME, [NAME], NAME...) rather than `{name}`."""

    def display_type(self, ctx: click.Context) -> str:
        return ""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name


def _plain_placeholder(param: click.Parameter) -> None:
    if type(param) is TyperOption:
        param.__class__ = _Option
    elif type(param) is TyperArgument:
        param.__class__ = _Argument
        param.metavar = param.metavar or (param.name or "value").upper()


class _Command(TyperCommand):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:  # the help option is made here
            _plain_placeholder(param)
        return params


class _Group(TyperGroup):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:  # the help option is made here
            _plain_placeholder(param)
        return params


def _plain_placeholders(command: click.Command) -> None:
    if type(command) is TyperCommand:
        command.__class__ = _Command
    elif type(command) is TyperGroup:
        command.__class__ = _Group
    for param in command.params:
        _plain_placeholder(param)
    for sub in getattr(command, "commands", {}).values():
        _plain_placeholders(sub)


def _debug_wanted() -> bool:
    return os.environ.get("AFI_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


class AfiGroup(TyperGroup):
    """The root command: turns configuration and database errors into a short message."""

    debug = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _plain_placeholders(self)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:  # the help option, and completion options added after __init__
            _plain_placeholder(param)
        return params

    def invoke(self, ctx: click.Context) -> Any:
        AfiGroup.debug = False  # until the root callback reads --debug
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            if AfiGroup.debug or _debug_wanted():
                raise
            lines = describe(exc)
            if lines is None:
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                lines = (
                    f"Unexpected error: {type(exc).__name__}{': ' + first if first else ''}",
                    "Run again with --debug (or AFI_DEBUG=1) for the traceback.",
                )
            err.print(lines[0], style="red", markup=False, highlight=False)
            for line in lines[1:]:
                err.print(line, markup=False, highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None


def _version() -> str:
    try:
        return metadata.version("afi-tracker")
    except metadata.PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"afi {_version()}")
        raise typer.Exit()


cli = typer.Typer(
    cls=AfiGroup,
    help="AFI Tracker: follow up inspection findings.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
)


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an error (also: AFI_DEBUG=1).",
            show_default=False,
        ),
    ] = False,
) -> None:
    AfiGroup.debug = debug


cli.add_typer(reports.app)
cli.add_typer(server.app)
cli.add_typer(server.db_app, name="db")
cli.add_typer(tokens.app, name="token")
cli.add_typer(data.app)
cli.add_typer(files.app, name="files")
cli.add_typer(overdue.app)
cli.add_typer(pack.app)
cli.add_typer(worker.app)
cli.add_typer(mail.app)
cli.add_typer(webhooks.app, name="webhook")

__all__ = ["cli", "main", "prepare_database"]


def main() -> None:
    cli(prog_name="afi")
