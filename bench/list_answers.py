"""List pages through `afi serve`: page 1 and page 20 (through the cursor) of each query, timed,
the bodies of all 20 pages kept.

    .venv/bin/python -m bench.list_answers --url sqlite:////tmp/copy-1m.db --save /tmp/after \\
        --query 'as_of=2026-10-31&owner_id=7' --query 'as_of=2026-10-31&report_id=12345'
    git archive main | tar -x -C /tmp/main-code      # the code before, served with --code
    .venv/bin/python -m bench.list_answers --url sqlite:////tmp/copy-1m.db --save /tmp/before \\
        --code /tmp/main-code --query ...
    cmp /tmp/before/as_of-2026-10-31_owner_id-7.json /tmp/after/as_of-2026-10-31_owner_id-7.json

The server is started as `bench.stats_answers` starts it (`--no-worker`, 1 worker on SQLite, 2
on PostgreSQL). Each query: the 20 pages followed once through `next_cursor` (their bodies saved
under `--save`, one per line, named after the query), then page 1 and page 20 each timed
`--repeats` times one after the other; printed with p50, the fastest and the server's CPU
milliseconds per request.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.scale_client import PeakMemory, add_server_arguments, served

_PAGES = 20


def _pages(client: httpx.Client, base: str, query: str) -> list[tuple[str, bytes]]:
    """The URL and body of each of the first 20 pages (fewer when the list ends)."""
    pages = []
    url = base + query
    for _ in range(_PAGES):
        answer = client.get(url).raise_for_status()
        pages.append((url, answer.content))
        cursor = orjson.loads(answer.content).get("next_cursor")
        if cursor is None:
            break
        url = f"{base}{query}&cursor={cursor}"
    return pages


def _timed(client: httpx.Client, server: Any, url: str, repeats: int) -> str:
    times = []
    with PeakMemory(server) as memory:
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - started)
    cpu = memory.cpu_seconds() / repeats * 1000
    return f"{statistics.median(times) * 1000:6.1f} / {min(times) * 1000:6.1f} / {cpu:5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--save", type=Path, required=True, help="folder for the bodies")
    parser.add_argument("--query", action="append", required=True)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    args.save.mkdir(parents=True, exist_ok=True)
    print(f"{'query':<62} {'pages':>5}  page 1: p50 / min / CPU ms   page 20: the same")
    with served(args) as server, httpx.Client(timeout=300) as client:
        base = f"http://127.0.0.1:{server.port}/api/v1/actions?"
        for query in args.query:
            pages = _pages(client, base, query)
            name = query.replace("&", "_").replace("=", "-")
            (args.save / f"{name}.json").write_bytes(b"\n".join(body for _, body in pages))
            first = _timed(client, server, pages[0][0], args.repeats)
            last = _timed(client, server, pages[-1][0], args.repeats) if len(pages) > 1 else "-"
            print(f"{query:<62} {len(pages):>5}  {first:<28} {last}", flush=True)


if __name__ == "__main__":
    main()
