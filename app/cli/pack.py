"""`afi pack`: the committee pack (a workbook or a printable page) written to a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import preflight
from app.cli.common import err
from app.enums import ActionStatus, FindingKind, Priority, Rag
from app.schemas.pack import PackFormat

app = typer.Typer()

_SUFFIXES = {".xlsx": PackFormat.XLSX, ".html": PackFormat.HTML, ".htm": PackFormat.HTML}
DateOpt = Annotated[str | None, typer.Option(metavar="DATE", help="YYYY-MM-DD.")]


def _format(output: Path, chosen: PackFormat | None) -> PackFormat:
    if chosen is not None:
        return chosen
    found = _SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise preflight.CliError(
            f"Cannot tell the format from {output.name!r}.",
            "Fix: give --format xlsx or --format html (or name the file .xlsx or .html).",
        )
    return found


def _params(query: dict[str, Any]) -> Any:
    """The options read as the API reads its query (PackParams), with its messages."""
    from pydantic import ValidationError

    from app.schemas.pack_params import PackParams

    given = {name: value for name, value in query.items() if value not in (None, [])}
    try:
        return PackParams.model_validate(given)
    except ValidationError as exc:
        problems = [
            f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg']}" for error in exc.errors()
        ]
        raise preflight.CliError(*problems) from None


def _write(output: Path, body: bytes) -> None:
    """`body` to `output` whole or not at all: written beside it, then moved into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@app.command(
    epilog="The filters are the action list's (GET /api/v1/actions). Exit codes: 0 written; "
    "2 invalid options, a selection too large for one pack, or a database error."
)
def pack(
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, metavar="FILE", help="Write here.")
    ],
    output_format: Annotated[
        PackFormat | None,
        typer.Option(
            "--format",
            help="xlsx (a workbook) or html (a printable page); default: the FILE's suffix.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Changes from this day (default: the previous calendar quarter's first).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The pack's day (default: today); an earlier day shows the actions as they "
            "stood at its end.",
        ),
    ] = None,
    status: Annotated[
        list[ActionStatus] | None, typer.Option(help="Only these statuses (repeatable).")
    ] = None,
    priority: Annotated[
        list[Priority] | None, typer.Option(help="Only these priorities (repeatable).")
    ] = None,
    rag: Annotated[list[Rag] | None, typer.Option(help="Only these RAGs (repeatable).")] = None,
    owner_id: Annotated[int | None, typer.Option(metavar="ID", help="Only this owner's.")] = None,
    unassigned: Annotated[
        bool | None,
        typer.Option("--unassigned/--assigned", help="Only actions without (with) an owner."),
    ] = None,
    force: Annotated[str | None, typer.Option(help="Only this force's reports.")] = None,
    year: Annotated[str | None, typer.Option(help="As written (2018/19) or the start.")] = None,
    programme: Annotated[str | None, typer.Option(help="Only this programme's.")] = None,
    pillar: Annotated[str | None, typer.Option(help="Only this pillar's.")] = None,
    report_id: Annotated[int | None, typer.Option(metavar="ID", help="Only this report.")] = None,
    kind: Annotated[FindingKind | None, typer.Option(help="Only this kind of finding.")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="Only (not) overdue.")
    ] = None,
    stale: Annotated[
        bool | None, typer.Option("--stale/--not-stale", help="Only (not) stale.")
    ] = None,
    due_before: DateOpt = None,
    due_after: DateOpt = None,
    search: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Full-text search (the API's q).")
    ] = None,
) -> None:
    """Write the committee pack for the actions the filters select: a workbook (sheets Items,
    Changes, Figures) or a printable HTML page with its charts."""
    chosen = _format(output, output_format)
    if not output.parent.is_dir():
        raise preflight.CliError(f"No folder {output.parent} to write {output.name} in.")
    params = _params(
        {
            "since": since, "as_of": as_of, "status": status, "priority": priority, "rag": rag,
            "owner_id": owner_id, "unassigned": unassigned, "force": force, "year": year,
            "programme": programme, "pillar": pillar, "report_id": report_id, "kind": kind,
            "overdue": overdue, "stale": stale, "due_before": due_before,
            "due_after": due_after, "q": search,
        }
    )  # fmt: skip
    preflight.require_database()
    from app import clock
    from app.db import database
    from app.errors import AppError
    from app.services import pack as service

    try:
        # One snapshot: the items, figures and changes agree with each other.
        with database.reader(snapshot=True) as connection:
            body = service.make_pack(
                db=connection,
                filters=params.to_filters(),
                since=params.since,
                today=clock.today(),
                output=chosen,
            )
    except AppError as exc:
        raise preflight.CliError(exc.detail) from exc
    _write(output, body)
    err.print(f"Wrote the committee pack ({chosen.value}, {len(body)} bytes) to {output}.",
              markup=False, highlight=False)  # fmt: skip
