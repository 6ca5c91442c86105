"""List pages through `afi serve`: page 1 and page 20 (through the cursor) of each query, timed,
the bodies of all 20 pages kept (`--pages`: another count, for code too slow to follow 20).

    .venv/bin/python -m bench.list_answers --url sqlite:////tmp/copy-1m.db --save /tmp/after \\
        --query 'as_of=2026-10-31&owner_id=7' --query 'as_of=2026-10-31&report_id=12345'
    git archive main | tar -x -C /tmp/main-code      # the code before, served with --code
    .venv/bin/python -m bench.list_answers --url sqlite:////tmp/copy-1m.db --save /tmp/before \\
        --code /tmp/main-code --query ...
    cmp /tmp/before/as_of-2026-10-31_owner_id-7.json /tmp/after/as_of-2026-10-31_owner_id-7.json

The server is started as `bench.stats_answers` starts it (`--no-worker`, 1 worker on SQLite, 2
on PostgreSQL). Each query: the 20 pages followed once through `next_cursor` (their bodies saved
under `--save`, one per line, named after the query), then page 1 and page 20 each timed
`--repeats` times one after the other, after `--warmup` untimed; printed with p50, p99 (of up
to 100, the slowest), the server's CPU milliseconds per request and, on PostgreSQL, those of the
database's backends serving it (where planning shows). The load average is printed at the start
and the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import NullPool, create_engine, make_url, text

from bench.scale_client import (
    PeakMemory,
    _cpu_seconds,
    add_server_arguments,
    percentile,
    served,
)


def _pages(client: httpx.Client, base: str, query: str, count: int) -> list[tuple[str, bytes]]:
    """The URL and body of each of the first `count` pages (fewer when the list ends)."""
    pages = []
    url = base + query
    for _ in range(count):
        answer = client.get(url).raise_for_status()
        pages.append((url, answer.content))
        cursor = orjson.loads(answer.content).get("next_cursor")
        if cursor is None:
            break
        url = f"{base}{query}&cursor={cursor}"
    return pages


@contextmanager
def _backend_cpu(url: str) -> Iterator[list[float]]:
    """The CPU seconds the database's backends (PostgreSQL: other than this one) used over the
    block, put in the list yielded; none on SQLite, whose work is the server's own."""
    used: list[float] = []
    if make_url(url).get_backend_name() != "postgresql":
        yield used
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            pids = connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
    finally:
        engine.dispose()
    before = {pid: _cpu_seconds(pid) for pid in pids}
    yield used
    used.append(sum(_cpu_seconds(pid) - start for pid, start in before.items()))


def _timed(client: httpx.Client, server: Any, url: str, args: argparse.Namespace) -> str:
    for _ in range(args.warmup):
        client.get(url).raise_for_status()
    times = []
    with _backend_cpu(args.url) as database, PeakMemory(server) as memory:
        for _ in range(args.repeats):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - started)
    cpu = memory.cpu_seconds() / args.repeats * 1000
    figures = [statistics.median(times) * 1000, percentile(times, 0.99) * 1000, cpu]
    figures += [seconds / args.repeats * 1000 for seconds in database]
    return " / ".join(f"{figure:5.1f}" for figure in figures)


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--save", type=Path, required=True, help="folder for the bodies")
    parser.add_argument("--query", action="append", required=True)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=0, help="untimed requests before each")
    parser.add_argument(
        "--pages", type=int, default=20, help="pages followed, the last timed (fewer: slow code)"
    )
    args = parser.parse_args()
    args.save.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {_load()}")
    print(f"{'query':<62} {'pages':>5}  page 1: p50 / p99 / CPU / DB CPU ms   the last: the same")
    with served(args) as server, httpx.Client(timeout=300) as client:
        base = f"http://127.0.0.1:{server.port}/api/v1/actions?"
        for query in args.query:
            pages = _pages(client, base, query, args.pages)
            name = query.replace("&", "_").replace("=", "-")
            (args.save / f"{name}.json").write_bytes(b"\n".join(body for _, body in pages))
            first = _timed(client, server, pages[0][0], args)
            last = _timed(client, server, pages[-1][0], args) if len(pages) > 1 else "-"
            print(f"{query:<62} {len(pages):>5}  {first:<36} {last}", flush=True)
    print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
