"""Stats answers through `afi serve`: p50 per query, the server's peak memory, the bodies kept.

    .venv/bin/python -m bench.stats_answers --url sqlite:////tmp/copy-1m.db --save /tmp/after
    .venv/bin/python -m bench.stats_answers --url "$PG/copy_1m" --save /tmp/after \\
        --query 'group_by=report&status=open' --query group_by=force
    git archive main | tar -x -C /tmp/main-code      # the code before, served with --code
    .venv/bin/python -m bench.stats_answers --url sqlite:////tmp/copy-1m.db --save /tmp/before \\
        --code /tmp/main-code
    cmp /tmp/before/group_by-report.json /tmp/after/group_by-report.json

The server is started as `bench.scale` starts it (1 worker on SQLite, 2 on PostgreSQL), but
with `--no-worker`: the background worker's passes (numbering events, the day's reminders)
would write to the database and take CPU while requests are timed. Each query: a first
request (printed as `first`, with its server CPU and peak memory: nothing kept yet, see
AFI_ANSWER_CACHE_MB; with `AFI_ANSWER_CACHE_MB=0` in the environment every request reads
afresh), then `--repeats` timed one after the other; printed with p50, the fastest, the
server's CPU seconds over the timed requests, and the peak resident memory of each server
process (VmHWM, reset before the first request and again before the timed ones). The last
body of each query is saved under `--save`, named after the query, so that two runs (two
versions of the code, through PYTHONPATH) can be compared with cmp.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx

from bench.scale_client import PeakMemory, add_server_arguments, served

_QUERIES = ["group_by=report", "group_by=report&status=open&status=blocked", "group_by=force"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--save", type=Path, required=True, help="folder for the bodies")
    parser.add_argument("--query", action="append", help=f"default: {'; '.join(_QUERIES)}")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    args.save.mkdir(parents=True, exist_ok=True)
    with served(args) as server, httpx.Client(timeout=300) as client:
        base = f"http://127.0.0.1:{server.port}/api/v1/stats?"
        for query in args.query or _QUERIES:
            with PeakMemory(server) as first_memory:
                started = time.perf_counter()
                client.get(base + query).raise_for_status()
                first = time.perf_counter() - started
            times = []
            with PeakMemory(server) as memory:
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    answer = client.get(base + query).raise_for_status()
                    times.append(time.perf_counter() - started)
            name = query.replace("&", "_").replace("=", "-")
            (args.save / f"{name}.json").write_bytes(answer.content)
            print(
                f"{query:<50} first {first * 1000:6.0f} ms"
                f" (server CPU {first_memory.cpu_seconds():.2f} s,"
                f" VmHWM MiB {_peaks(first_memory)})"
                f"  then p50 {statistics.median(times) * 1000:7.0f} ms"
                f"  min {min(times) * 1000:6.0f} ms  n {args.repeats}"
                f"  {len(answer.content):>11,} bytes  server CPU {memory.cpu_seconds():.2f} s"
                f"  VmHWM MiB {_peaks(memory)}",
                flush=True,
            )


def _peaks(memory: PeakMemory) -> list[int]:
    return [round(kib / 1024) for kib in memory.high_water_kib().values()]


if __name__ == "__main__":
    main()
