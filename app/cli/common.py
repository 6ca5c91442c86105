"""What the command-line modules share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TextIO

import typer
from rich.console import Console

# Wide enough that nothing sent to a file, a pipe or a CI log is ever wrapped or cut.
UNBOUNDED = 100_000


def console(*, stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console that wraps to a terminal's width, and never wraps (nor cuts a table's
    cells) when its output goes anywhere else."""
    probe = Console(stderr=stderr, file=file)
    if probe.is_terminal:
        return Console(stderr=stderr, file=file, highlight=False)
    return Console(stderr=stderr, file=file, highlight=False, soft_wrap=True, width=UNBOUNDED)


# Messages, progress and errors go to stderr, so stdout carries only what a script reads. Its
# stream is looked up at each use; soft wrapping leaves long lines whole in a log.
err = Console(stderr=True, soft_wrap=True)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, when stderr is a terminal: yields the callback a service
    reports (done, in all) to. Elsewhere yields None; the command ends with a summary line."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


ForceOpt = Annotated[str | None, typer.Option(help="Force, when the text has no header.")]
ProgrammeOpt = Annotated[str | None, typer.Option(help="Programme, e.g. PEEL.")]
YearOpt = Annotated[str | None, typer.Option(help="Year as written, e.g. 2018/19.")]
PillarOpt = Annotated[str | None, typer.Option(help="Pillar, e.g. Effectiveness.")]
