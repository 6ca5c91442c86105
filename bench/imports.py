"""Benchmark the import path: one large report, a folder of seed files, an edited re-import.

    .venv/bin/python bench/imports.py                       # every measurement
    .venv/bin/python bench/imports.py --sizes 1000,2000 --files 200 --reimport 4000 --edited 800

1. **One report** of each of `--sizes` findings, parsed and then stored in one transaction
   through `app.services.reports.import_text`, in a fresh SQLite file. Prints the parse time
   and the time the write transaction was open (the time SQLite's write lock is held).
2. **A folder**: `--files` seed-format files of `--per-file` findings, loaded by the real
   command line (`afi db upgrade`, then `afi seed DIR`, each in a subprocess) into a fresh
   SQLite file. Prints the wall-clock time of `afi seed`.
3. **Re-import**: a report of `--reimport` findings is stored, `--edited` of its findings are
   reworded (spread over the report), and the edited text imported again. Prints the time and
   how many findings were paired (kept their references) rather than added or withdrawn.

The size limit (AFI_MAX_IMPORT_FINDINGS) is raised for this run so that every size is stored.
Prints figures; asserts nothing about them.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset import FORCES, PILLARS, report_text  # noqa: E402

_FINDING_PREFIX = "- The force should "


def edit_findings(text: str, count: int) -> str:
    """Reword `count` findings spread evenly over the report (a word changed, a clause added)."""
    lines = text.split("\n")
    findings = [i for i, line in enumerate(lines) if line.startswith(_FINDING_PREFIX)]
    if count <= 0:
        return text
    step = max(1, len(findings) // count)
    for index in findings[::step][:count]:
        lines[index] = (
            lines[index]
            .replace(" so that it can show ", " so that it can demonstrate that ")
            .replace(" is improving.", " is improving, and report on it.")
        )
    return "\n".join(lines)


def _database(directory: Path, name: str) -> str:
    return f"sqlite:///{directory / name}"


def one_report(sizes: list[int], directory: Path) -> None:
    from app.db import SessionLocal
    from app.parser import parse_report
    from app.principal import system
    from app.services.reports import import_text

    rng = random.Random(11)  # noqa: S311  (reproducible data, not secrets)
    print("one report: findings, parse s, write transaction s (CPU s), findings/s")
    for number, size in enumerate(sizes):
        text = report_text(rng, FORCES[number % len(FORCES)], 2000 + number, PILLARS[0], size)
        started = time.perf_counter()
        parse_report(text)
        parsed = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        with SessionLocal.begin() as session:
            result = import_text(session=session, raw=text, metadata={}, actor=system("bench"))
        stored, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.added == size, result.added
        print(
            f"  {size:>6}  {parsed:6.2f}  {stored:7.2f} ({cpu:5.2f})  "
            f"{size / (parsed + stored):8.0f}"
        )


def _children_cpu() -> float:
    """CPU seconds used by finished child processes: steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def folder(files: int, per_file: int, directory: Path) -> None:
    seeds = directory / "seeds"
    seeds.mkdir()
    rng = random.Random(13)  # noqa: S311
    identities = [(f, y, p) for f in FORCES for y in range(1990, 2040) for p in PILLARS]
    for number, (force, year, pillar) in enumerate(identities[:files]):
        path = seeds / f"{number:05d}.txt"
        path.write_text(report_text(rng, force, year, pillar, per_file), "utf-8")
    env = {**os.environ, "AFI_DATABASE_URL": _database(directory, "seed.db")}
    afi = [sys.executable, "-c", "from app.cli import main; main()"]
    # Our own interpreter and entry point, fixed arguments.
    subprocess.run([*afi, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(  # noqa: S603
        [*afi, "seed", str(seeds)], env=env, capture_output=True, text=True
    )
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode:
        print(done.stderr[-2000:])
    loaded = done.stderr.replace("\n", " ").count(": created (")
    print(
        f"afi seed: {files} files x {per_file} findings: {elapsed:.1f} s, {cpu:.1f} s of CPU "
        f"({files / elapsed:.0f} files/s, exit {done.returncode}, {loaded} created)"
    )


def reimport(size: int, edited: int) -> None:
    from app.db import SessionLocal
    from app.principal import system
    from app.services.reports import import_text

    rng = random.Random(17)  # noqa: S311
    text = report_text(rng, "Kent", 1999, PILLARS[1], size)
    with SessionLocal.begin() as session:
        import_text(session=session, raw=text, metadata={}, actor=system("bench"))
    changed = edit_findings(text, edited)
    started, cpu = time.perf_counter(), time.process_time()
    with SessionLocal.begin() as session:
        result = import_text(session=session, raw=changed, metadata={}, actor=system("bench"))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"re-import: {size} findings, {edited} edited: {elapsed:.2f} s, {cpu:.2f} s of CPU "
        f"(updated {result.updated}, added {result.added}, withdrawn {result.withdrawn})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,10000")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--per-file", type=int, default=25)
    parser.add_argument("--reimport", type=int, default=10000)
    parser.add_argument("--edited", type=int, default=2000)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]

    with tempfile.TemporaryDirectory(prefix="afi-bench-imports-") as tmp:
        directory = Path(tmp)
        # Before the app reads its settings: a fresh database, and no refusal of large reports.
        os.environ["AFI_DATABASE_URL"] = _database(directory, "one.db")
        os.environ["AFI_MAX_IMPORT_FINDINGS"] = str(max([*sizes, args.reimport, args.per_file]))
        from app import migrate

        migrate.upgrade(os.environ["AFI_DATABASE_URL"])
        if sizes:
            one_report(sizes, directory)
        if args.files:
            folder(args.files, args.per_file, directory)
        if args.reimport:
            reimport(args.reimport, args.edited)


if __name__ == "__main__":
    main()
