"""Reading report files: `afi parse` and `afi seed`."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import track
from sqlalchemy.exc import SQLAlchemyError

from app.cli import preflight
from app.cli.common import ForceOpt, PillarOpt, ProgrammeOpt, YearOpt, console, err
from app.errors import AppError
from app.principal import system

app = typer.Typer()


@app.command()
def parse(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, readable=True, metavar="FILE", help="Report text files."
        ),
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the parse as JSON (several files: a JSON array of them)."
        ),
    ] = False,
    force: ForceOpt = None,
    programme: ProgrammeOpt = None,
    year: YearOpt = None,
    pillar: PillarOpt = None,
) -> None:
    """Parse report files and print their findings; stores nothing. Exit code 2 if any file
    does not parse (the others are still printed)."""
    from app.parser import parse_report
    from app.services.reports import preview

    results = []
    failed = False
    for file in files:
        try:
            parsed = parse_report(
                file.read_bytes(), force=force, programme=programme, year=year, pillar=pillar
            )
        except AppError as exc:
            err.print(f"[red]{escape(f'{file}: {exc.detail}')}[/red]")
            failed = True
            continue
        for warning in parsed.warnings:
            prefix = f"{escape(str(file))}: " if len(files) > 1 else ""
            err.print(f"[yellow]{prefix}warning:[/yellow] {escape(warning)}")
        results.append(preview(parsed=parsed).model_dump(mode="json"))
    if as_json:
        body = results[0] if len(files) == 1 and results else results
        if len(files) > 1 or results:
            sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    else:
        out = console()
        for number, result in enumerate(results):
            _print_parse(result, out=out, first=number == 0)
    if failed:
        raise typer.Exit(2)


def _print_parse(result: dict[str, Any], *, out: Console, first: bool) -> None:
    if not first:
        out.print()
    findings = result["findings"]
    out.print(f"[bold]{escape(result['title'])}[/bold]: {len(findings)} findings")
    question = None
    for finding in findings:
        if finding["question"] != question:
            question = finding["question"]
            out.print(f"\n[bold]{escape(question or '(no question)')}[/bold]")
        out.print(escape(f"  {finding['reference']}  {finding['text']}"))
        for point in finding["subpoints"]:
            out.print(escape(f"      - {point}"))


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
        list[Path] | None,
        typer.Argument(metavar="PATH", help="Report files or folders (default: seeds/)."),
    ] = None,
    force: ForceOpt = None,
    programme: ProgrammeOpt = None,
    year: YearOpt = None,
    pillar: PillarOpt = None,
) -> None:
    """Load report files (migrating the database first); each file is one transaction.
    Exit code 1 if any file failed."""
    sources = paths or [preflight.settings().seeds_dir]
    files = report_files(sources)
    if not files:
        where = ", ".join(os.path.abspath(path) for path in sources)
        err.print(f"No report files (*.txt) found in {where}.", markup=False, highlight=False)
        raise typer.Exit(1)
    preflight.require_database(create=True)
    from app import migrate

    migrate.upgrade()
    metadata = {"force": force, "programme": programme, "year": year, "pillar": pillar}
    if load_files(files, metadata=metadata):
        raise typer.Exit(1)


def load_files(files: list[Path], *, metadata: dict[str, str | None]) -> int:
    """Load each file in its own transaction; returns how many failed. Failures and warnings
    are printed file by file; so is every other file's outcome, unless a progress bar shows (a
    terminal and more than one file). Several files end with a summary."""
    from app.db import SessionLocal
    from app.services.reports import load_text

    counts: Counter[str] = Counter()
    show_progress = len(files) > 1 and err.is_terminal
    for file in track(files, description="Loading", console=err, disable=not show_progress):
        try:
            with SessionLocal.begin() as session:
                outcome = load_text(
                    session=session,
                    raw=file.read_bytes(),
                    metadata=metadata,
                    actor=system("afi seed"),
                )
                title = outcome.report.title
        except (AppError, SQLAlchemyError, OSError) as exc:
            counts["failed"] += 1
            detail = exc.detail if isinstance(exc, AppError) else str(exc).splitlines()[0]
            failed = f"[red]{escape(f'{file}: failed: {detail}')}[/red]"
            err.print(failed, highlight=False, soft_wrap=True)
            continue
        if outcome.created:
            counts["created"] += 1
            state = f"created ({outcome.added} findings)"
        elif outcome.changed:
            counts["updated"] += 1
            state = f"updated (+{outcome.added} ~{outcome.updated} -{outcome.withdrawn})"
        else:
            counts["unchanged"] += 1
            state = "unchanged"
        if not show_progress:
            err.print(escape(f"{file}: {title}: {state}"), highlight=False, soft_wrap=True)
        for warning in outcome.warnings:
            warned = f"[yellow]{escape(str(file))}: warning:[/yellow] {escape(warning)}"
            err.print(warned, highlight=False, soft_wrap=True)
    if len(files) > 1:
        summary = ", ".join(f"{counts[state]} {state}" for state in _STATES if counts[state])
        colour = "red" if counts["failed"] else "green"
        line = f"[{colour}]{len(files)} files: {summary}.[/{colour}]"
        err.print(line, highlight=False, soft_wrap=True)
    return counts["failed"]


_STATES = ("created", "updated", "unchanged", "failed")
