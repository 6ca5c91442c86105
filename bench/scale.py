"""The scale benchmark: every read an analyst makes, timed on a national-size database.

    .venv/bin/python -m bench.scale                                   # 1M actions, SQLite file
    .venv/bin/python -m bench.scale -n 10k
    .venv/bin/python -m bench.scale --url postgresql+psycopg://postgres@127.0.0.1:5432/afi_bench_1m
    .venv/bin/python -m bench.scale -n 10k --sections stall,csv --repeats 10

1. Builds the data once (bench/scale_data.py), or reuses a database that already holds the
   same build (size, seed, schema revision): a SQLite file named after the size and seed in the
   temporary directory unless --url says otherwise.
2. Starts the real server as a user would (`afi serve`, anonymous reads with
   AFI_PUBLIC_READ=true; 2 workers on PostgreSQL, 1 on SQLite) on a free loopback port.
3. Times each request alone, one at a time after a warm-up, up to --repeats times (fewer when a
   request is slow: at most --max-seconds per request), and prints p50 and p99 in milliseconds:
   the list and its filters and sorts, counts, word search, stats by every grouping, the overdue
   summary, page 20 through the cursor; the full CSV export (rows/s and the server's peak
   memory); and the stall figure: /health and the default page, asked every 20 ms, while
   heavy requests (stats, CSV, searches) run beside them.

Prints markdown tables to paste into bench/README.md. Bounded in count and time; stops its
server when done. Asserts nothing about the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import make_url

from app import clock
from bench.scale_client import ROOT, Client, PeakMemory, Server, p50, percentile, running_server
from bench.scale_data import build, size
from bench.scale_targets import (
    COMBINED,
    CURSOR_SHAPES,
    LIST,
    filter_targets,
    main_targets,
    read_samples,
)

SECTIONS = ("main", "filters", "combined", "cursor", "csv", "stall")


@dataclass
class Timing:
    name: str
    target: str
    seconds: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    note: str = ""

    def row(self) -> str:
        if not self.seconds:
            return f"| {self.name} | – | – | 0 | {self.note} |"
        bad = {code: n for code, n in self.statuses.items() if code != 200}
        note = "; ".join(filter(None, [self.note, f"answers {bad}" if bad else ""]))
        return (
            f"| {self.name} | {p50(self.seconds) * 1000:.1f} | "
            f"{percentile(self.seconds, 0.99) * 1000:.1f} | {len(self.seconds)} | {note} |"
        )


@dataclass
class Settings:
    repeats: int
    warmup: int
    max_seconds: float
    stall_seconds: float
    heavy_clients: int


async def time_target(client: Client, name: str, target: str, settings: Settings) -> Timing:
    """`target` asked `settings.repeats` times, one request at a time, after a warm-up; fewer
    times when a request is slow (at most max_seconds in all, and at least 3 times)."""
    timing = Timing(name, target)
    try:
        for _ in range(settings.warmup):
            await client.get(target, keep_body=False)
        started = time.perf_counter()
        for index in range(settings.repeats):
            if index >= 3 and time.perf_counter() - started > settings.max_seconds:
                break
            answer = await client.get(target, keep_body=False)
            timing.seconds.append(answer.seconds)
            timing.statuses[answer.status] += 1
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        timing.note = f"failed: {type(exc).__name__}"
    return timing


async def page_twenty(client: Client, target: str) -> str | None:
    """The URL of page 20 of `target`, following next_cursor 19 times."""
    separator = "&" if "?" in target else "?"
    url = target
    for _ in range(19):
        answer = await client.get(url)
        cursor = orjson.loads(answer.body).get("next_cursor") if answer.status == 200 else None
        if cursor is None:
            return None
        url = f"{target}{separator}cursor={cursor}"
    return url


# --- sections --------------------------------------------------------------------------------


async def run_timings(
    server: Server, targets: list[tuple[str, str]], settings: Settings
) -> list[Timing]:
    client = Client(server.port)
    try:
        return [await time_target(client, name, target, settings) for name, target in targets]
    finally:
        await client.close()


async def cursor_timings(server: Server, settings: Settings) -> list[Timing]:
    client = Client(server.port)
    timings = []
    try:
        for name, target in CURSOR_SHAPES:
            url = await page_twenty(client, target)
            if url is None:
                timings.append(Timing(name, target, note="fewer than 20 pages"))
            else:
                timings.append(await time_target(client, name, url, settings))
    finally:
        await client.close()
    return timings


async def csv_export(server: Server) -> str:
    client = Client(server.port)
    try:
        with PeakMemory(server) as memory:
            answer = await client.get(f"{LIST}?format=csv", keep_body=False, timeout=1800)
        peaks, cpu = memory.high_water_kib(), memory.cpu_seconds()
    finally:
        await client.close()
    rows = max(answer.lines - 1, 0)
    peak_text = ", ".join(f"{kib / 1024:.0f}" for kib in peaks.values() if kib)
    return (
        "| rows | seconds | rows/s | server CPU s (rows per CPU s) | MB sent "
        "| peak RSS per process (MiB, VmHWM) | peak RSS summed, sampled (MiB) | status |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
        f"| {rows:,} | {answer.seconds:.1f} | {rows / answer.seconds:,.0f} | "
        f"{cpu:.1f} ({rows / max(cpu, 0.01):,.0f}) | {answer.size / 1e6:.0f} | {peak_text} | "
        f"{memory.sampled_kib / 1024:.0f} | {answer.status} |"
    )


STALL = 0.1  # seconds: a cheap request slower than this has waited on something
HEAVY = (
    ("stats by force", "/api/v1/stats?group_by=force"),
    ("CSV export", f"{LIST}?format=csv"),
    ("q=vetting&count=true", f"{LIST}?q=vetting&count=true"),
    ("stats by owner", "/api/v1/stats?group_by=owner"),
    ("q=safeguarding&count=true", f"{LIST}?q=safeguarding&count=true&sort=-updated_at"),
    ("overdue summary", "/api/v1/actions/overdue-summary"),
)


async def probe(
    port: int, seconds: float, every: float = 0.02
) -> tuple[dict[str, list[float]], float]:
    """/health and the default page, one request at a time, every `every` seconds; and the
    seconds it took."""
    client = Client(port)
    found: dict[str, list[float]] = {"GET /health": [], "GET /api/v1/actions (default page)": []}
    started = time.perf_counter()
    stop = started + seconds
    try:
        for _ in range(int(seconds / every) + 1):
            tick = time.perf_counter()
            if tick > stop:
                break
            for values, target in zip(found.values(), ("/health", LIST), strict=True):
                values.append((await client.get(target, keep_body=False, timeout=120)).seconds)
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - tick)))
    finally:
        await client.close()
    return found, time.perf_counter() - started


async def heavy_client(port: int, offset: int, done: Counter[str]) -> None:
    client = Client(port)
    try:
        for index in range(offset, offset + 1000):
            name, target = HEAVY[index % len(HEAVY)]
            await client.get(target, keep_body=False, timeout=600)
            done[name] += 1
    finally:
        await client.close()


async def stall(server: Server, settings: Settings) -> str:
    quiet, _ = await probe(server.port, min(5.0, settings.stall_seconds))
    done: Counter[str] = Counter()
    heavy = [
        asyncio.create_task(heavy_client(server.port, offset * 2, done))
        for offset in range(settings.heavy_clients)
    ]
    await asyncio.sleep(0.5)  # let the heavy requests get going
    loaded, window = await probe(server.port, settings.stall_seconds)
    for task in heavy:
        task.cancel()
    await asyncio.gather(*heavy, return_exceptions=True)
    # Probes wait one after the other, so a stall of seconds is one slow sample: the share of
    # the window spent in probes slower than STALL tells more than a percentile does.
    lines = [
        "| probe | quiet p50 ms | quiet p99 ms | loaded p50 ms | loaded p99 ms | loaded max ms "
        f"| n loaded | window in probes over {STALL * 1000:.0f} ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, values in loaded.items():
        calm = quiet[name]
        lines.append(
            f"| {name} | {p50(calm) * 1000:.1f} | {percentile(calm, 0.99) * 1000:.1f} | "
            f"{p50(values) * 1000:.1f} | {percentile(values, 0.99) * 1000:.1f} | "
            f"{max(values) * 1000:.1f} | {len(values)} | "
            f"{sum(value for value in values if value > STALL) / window:.0%} |"
        )
    finished = ", ".join(f"{n} × {name}" for name, n in sorted(done.items())) or "none"
    lines.append(
        f"\n{settings.heavy_clients} heavy clients over {settings.stall_seconds:.0f} s; heavy "
        f"requests finished in that time: {finished}."
    )
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------


def default_url(actions: int, seed: int) -> str:
    return f"sqlite:///{Path(tempfile.gettempdir()) / f'afi-scale-{actions}-seed{seed}.db'}"


def app_commit() -> str:
    """The last commit that changed the application (not the benchmark)."""
    found = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", "app", "migrations"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def table(timings: list[Timing]) -> str:
    head = "| request | p50 ms | p99 ms | n | note |\n| --- | --- | --- | --- | --- |"
    return "\n".join([head, *(timing.row() for timing in timings)])


async def run_sections(server: Server, url: str, sections: list[str], settings: Settings) -> None:
    if "main" in sections:
        print("\n#### Lists, counts, search, stats, overdue summary\n")
        print(table(await run_timings(server, main_targets(), settings)), flush=True)
    if "filters" in sections:
        targets, unknown = filter_targets(read_samples(url))
        print("\n#### Each documented filter and sort alone, page 1\n")
        print(table(await run_timings(server, targets, settings)), flush=True)
        if unknown:
            print(f"\nFilters with no sample value here (add them to Samples): {unknown}")
    if "combined" in sections:
        print("\n#### Filters together, counts with filters, relevance\n")
        print(table(await run_timings(server, list(COMBINED), settings)), flush=True)
    if "cursor" in sections:
        print("\n#### Page 20 through the cursor\n")
        print(table(await cursor_timings(server, settings)), flush=True)
    if "csv" in sections:
        print("\n#### CSV export of every action\n")
        print(await csv_export(server), flush=True)
    if "stall" in sections:
        print("\n#### Stall: cheap requests while heavy ones run\n")
        print(await stall(server, settings), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: a SQLite file named by size/seed)")
    parser.add_argument("-n", "--actions", type=size, default=1_000_000, help="e.g. 10k, 1m")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recipe", choices=("bulk", "copy"), default="bulk")
    parser.add_argument("--workers", type=int, help="default: 2 on PostgreSQL, 1 on SQLite")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=",".join(SECTIONS))
    parser.add_argument("--repeats", type=int, default=20, help="timed requests per target")
    parser.add_argument("--warmup", type=int, default=1, help="untimed requests first")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap per target")
    parser.add_argument("--stall-seconds", type=float, default=20.0)
    parser.add_argument("--heavy-clients", type=int, default=3)
    parser.add_argument(
        "--no-worker", action="store_true", help="serve without the background worker (no writes)"
    )
    parser.add_argument("--code", type=Path, help="serve this checkout (a before/after comparison)")
    args = parser.parse_args()
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    if unknown := set(sections) - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}")
    url = args.url or default_url(args.actions, args.seed)
    build(url, actions=args.actions, seed=args.seed, recipe=args.recipe)
    dialect = make_url(url).get_backend_name()
    workers = args.workers or (2 if dialect == "postgresql" else 1)
    settings = Settings(
        args.repeats, args.warmup, args.max_seconds, args.stall_seconds, args.heavy_clients
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n### {args.actions:,} actions, {dialect}, {workers} worker(s)\n\n"
        f"{clock.today()}, app code at {args.code or app_commit()}, load average at start {load}; "
        "each request "
        f"alone, up to {args.repeats} times after {args.warmup} warm-up (at most "
        f"{args.max_seconds:.0f} s per request); p99 of {args.repeats} is the slowest."
    )
    started = time.perf_counter()
    with running_server(url, workers=workers, worker=not args.no_worker, code=args.code) as server:
        asyncio.run(run_sections(server, url, sections, settings))
        errors = server.errors()
    print(
        f"\n({time.perf_counter() - started:.0f} s; server error lines in its log: {len(errors)})"
    )


if __name__ == "__main__":
    main()
