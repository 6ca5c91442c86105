"""Searches and their counts at scale through a server: times each shape and saves its answers.

    .venv/bin/python -m bench.search_shapes --url sqlite:////tmp/copy-1m.db --out /tmp/answers-a
    .venv/bin/python -m bench.search_shapes --url postgresql+psycopg://...  --out ...
    # `--code /path/to/other/checkout`: the server runs that code (a before/after comparison)

Starts `afi serve --no-worker` (anonymous reads, 127.0.0.1, a free port; 1 worker on SQLite, 2
on PostgreSQL unless `--workers`) on the database given, which must be at this code's schema
(the server migrates it otherwise: use a copy), then asks
each shape alone `--repeats` times after one warm-up and prints the p50 and p99 of the time on
the clock and the server's mean CPU time per request (steadier on a shared machine). The answers,
every page up to the 20th through `next_cursor` for the paged shapes, are written to `--out`,
one file per shape and page, so that two runs compare with `cmp`.
"""

from __future__ import annotations

import argparse
import http.client
import time
import urllib.parse
import urllib.request
from pathlib import Path
from statistics import mean

from bench.scale_client import _cpu_seconds, add_server_arguments, p50, percentile, served

LIST = "/api/v1/actions"
# (name, path, pages): the shapes issue 12 lists as slow, and their neighbours.
SHAPES = [
    ("q=vetting&count=true", f"{LIST}?q=vetting&count=true", 1),
    ("q=safeguarding&count=true", f"{LIST}?q=safeguarding&count=true", 1),
    ("q=vetting&status=open&count=true", f"{LIST}?q=vetting&status=open&count=true", 1),
    ("q=safeguarding&status=open&count=true", f"{LIST}?q=safeguarding&status=open&count=true", 1),
    (
        "q=safeguarding&status=open&status=blocked&count=true",
        f"{LIST}?q=safeguarding&status=open&status=blocked&count=true",
        1,
    ),
    (
        "q=safeguard*&status=completed&count=true",
        f"{LIST}?q=safeguard*&status=completed&count=true",
        1,
    ),
    ('q="the force"&count=true', f"{LIST}?q=%22the+force%22&count=true", 1),
    ("q=safeguarding", f"{LIST}?q=safeguarding", 20),
    ("q=safeguarding&status=open", f"{LIST}?q=safeguarding&status=open", 20),
    ("q=safeguarding&sort=relevance", f"{LIST}?q=safeguarding&sort=relevance", 20),
    ("q=safeguarding&sort=-relevance", f"{LIST}?q=safeguarding&sort=-relevance", 3),
    ("q=vetting&sort=relevance", f"{LIST}?q=vetting&sort=relevance", 3),
    ("q=policing&sort=relevance", f"{LIST}?q=policing&sort=relevance", 3),
    (
        "q=safeguarding&status=open&sort=relevance",
        f"{LIST}?q=safeguarding&status=open&sort=relevance",
        3,
    ),
    ("q=force&sort=relevance (every action)", f"{LIST}?q=force&sort=relevance", 2),
]


def _get(connection: http.client.HTTPConnection, path: str) -> bytes:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
    return body


def _next(path: str, body: bytes) -> str | None:
    import json

    cursor = json.loads(body)["next_cursor"]
    if cursor is None:
        return None
    return path + "&cursor=" + urllib.parse.quote(cursor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", action="append", help="names containing this text")
    args = parser.parse_args()
    with served(args) as server:
        pids = server.pids()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        print(f"{'shape':55} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>8}")
        for index, (name, path, pages) in enumerate(SHAPES):
            if args.only and not any(part in name for part in args.only):
                continue
            body = _get(connection, path)  # warm-up
            walls, cpus = [], []
            for _ in range(args.repeats):
                cpu = sum(_cpu_seconds(pid) for pid in pids)
                start = time.perf_counter()
                _get(connection, path)
                walls.append((time.perf_counter() - start) * 1000)
                cpus.append((sum(_cpu_seconds(pid) for pid in pids) - cpu) * 1000)
            print(
                f"{name:55} {p50(walls):8.1f} {percentile(walls, 0.99):8.1f} {mean(cpus):8.1f}",
                flush=True,
            )
            if args.out is not None:
                args.out.mkdir(parents=True, exist_ok=True)
                page_path: str | None = path
                for page in range(1, pages + 1):
                    if page_path is None:
                        break
                    body = _get(connection, page_path)
                    (args.out / f"{index:02d}-page{page:02d}.json").write_bytes(body)
                    page_path = _next(page_path, body) if pages > 1 else None
        connection.close()


if __name__ == "__main__":
    main()
