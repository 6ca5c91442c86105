"""Reading report files: `afi parse` and `afi seed`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from sqlalchemy.exc import SQLAlchemyError

from app.cli.common import ForceOpt, PillarOpt, ProgrammeOpt, YearOpt, err
from app.errors import AppError
from app.parser import parse_report
from app.principal import system
from app.settings import get_settings

app = typer.Typer()


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the parse as JSON.")] = False,
    force: ForceOpt = None,
    programme: ProgrammeOpt = None,
    year: YearOpt = None,
    pillar: PillarOpt = None,
) -> None:
    """Parse a report file and print its findings; stores nothing. Exit code 2 on a parse error."""
    from app.services.reports import preview

    try:
        parsed = parse_report(
            file.read_bytes(), force=force, programme=programme, year=year, pillar=pillar
        )
    except AppError as exc:
        err.print(f"[red]{file}: {exc.detail}[/red]")
        raise typer.Exit(2) from exc
    for warning in parsed.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    result = preview(parsed=parsed)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
        sys.stdout.write("\n")
        return
    out = Console(highlight=False)
    out.print(f"[bold]{result.title}[/bold]: {len(result.findings)} findings")
    question = None
    for finding in result.findings:
        if finding.question != question:
            question = finding.question
            out.print(f"\n[bold]{question or '(no question)'}[/bold]")
        out.print(f"  {finding.reference}  {finding.text}")
        for point in finding.subpoints:
            out.print(f"      - {point}")


def report_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.txt") if p.is_file()))
        else:
            files.append(path)
    return files


@app.command()
def seed(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Report files or folders (default: seeds/).")
    ] = None,
    force: ForceOpt = None,
    programme: ProgrammeOpt = None,
    year: YearOpt = None,
    pillar: PillarOpt = None,
) -> None:
    """Load report files; each file is one transaction. Exit code 1 if any file failed."""
    files = report_files(paths or [get_settings().seeds_dir])
    if not files:
        err.print("No report files found.")
        raise typer.Exit(1)
    metadata = {"force": force, "programme": programme, "year": year, "pillar": pillar}
    failures = load_files(files, metadata=metadata)
    if failures:
        err.print(f"[red]{failures} of {len(files)} files failed.[/red]")
        raise typer.Exit(1)


def load_files(files: list[Path], *, metadata: dict[str, str | None]) -> int:
    from app.db import SessionLocal
    from app.services.reports import import_text

    failures = 0
    show_progress = len(files) > 1 and err.is_terminal
    for file in track(files, description="Loading", console=err, disable=not show_progress):
        try:
            with SessionLocal.begin() as session:
                result = import_text(
                    session=session,
                    raw=file.read_bytes(),
                    metadata=metadata,
                    actor=system("afi seed"),
                )
        except (AppError, SQLAlchemyError, OSError) as exc:
            failures += 1
            detail = exc.detail if isinstance(exc, AppError) else str(exc).splitlines()[0]
            err.print(f"[red]{file}: failed: {detail}[/red]")
            continue
        if result.created:
            state = f"created ({result.added} findings)"
        elif result.changed:
            state = f"updated (+{result.added} ~{result.updated} -{result.withdrawn})"
        else:
            state = "unchanged"
        err.print(f"{file}: {result.report.title}: {state}")
        for warning in result.warnings:
            err.print(f"[yellow]{file}: warning:[/yellow] {warning}")
    return failures
