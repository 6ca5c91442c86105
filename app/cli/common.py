"""What the command-line modules share."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

# Messages, progress and errors go to stderr, so stdout carries only what a script reads.
err = Console(stderr=True)

ForceOpt = Annotated[str | None, typer.Option(help="Force, when the text has no header.")]
ProgrammeOpt = Annotated[str | None, typer.Option(help="Programme, e.g. PEEL.")]
YearOpt = Annotated[str | None, typer.Option(help="Year as written, e.g. 2018/19.")]
PillarOpt = Annotated[str | None, typer.Option(help="Pillar, e.g. Effectiveness.")]
