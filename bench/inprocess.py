"""One endpoint in process: the service's or the baseline's ASGI app called directly, no HTTP.

    .venv/bin/python bench/inprocess.py --db /tmp/afi-bench.db                 # both apps
    .venv/bin/python bench/inprocess.py --db /tmp/afi-bench.db -n 500 --rounds 15  # taking turns
    PYTHONHASHSEED=0 valgrind --tool=callgrind --collect-atstart=no \\
        --toggle-collect=_operator_call --callgrind-out-file=/tmp/service.cg \\
        .venv/bin/python bench/inprocess.py --db /tmp/afi-bench.db --app service -n 50

The database is filled on first use (as bench/run.py does) and kept. Time per request drifts
with whatever else the machine does; the instructions callgrind counts do not, so they show
what a change to the code saves. Only the measured requests run inside `operator.call`, which
is what `--toggle-collect` selects: divide the "Collected" total by -n. A fixed PYTHONHASHSEED
keeps dict layouts, which move the count by about 1%, the same from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="SQLite file; filled if it does not exist")
    parser.add_argument("--app", choices=("service", "baseline", "both"), default="both")
    parser.add_argument("--target", default="/api/v1/actions", help="a target of bench/run.py")
    parser.add_argument("-n", "--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, the apps taking turns")
    parser.add_argument("--actions", type=int, default=2000, help="actions in a new database")
    args = parser.parse_args()

    path = Path(args.db).resolve()
    url = f"sqlite:///{path}"
    spec = path.with_name(path.name + ".spec.json")
    os.environ.update(
        AFI_DATABASE_URL=url,
        AFI_DATA_DIR=tempfile.mkdtemp(prefix="afi-bench-"),
        AFI_LOG_LEVEL="warning",
        AFI_PUBLIC_READ="true",
        BENCH_DB=str(path),
        BENCH_SPEC=str(spec),
    )
    sys.path.insert(0, str(ROOT))
    if not path.exists():
        from bench.dataset import fill_database

        fill_database(url, args.actions)
    if not spec.exists():
        from bench.run import endpoints_and_spec

        endpoints_and_spec(spec, {})

    apps = ("service", "baseline") if args.app == "both" else (args.app,)
    runners = {name: runner(name, args.target) for name in apps}
    # The apps take turns, round after round, so that a slow spell of the machine weighs on both.
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.rounds):
        for name, run in runners.items():
            times[name].append(run(args.requests))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, per_request in medians.items():
        print(f"{name:<9} {args.target}: {per_request * 1e6:.0f} µs per request")
    if len(apps) == 2:
        ratios = [base / service for service, base in zip(*times.values(), strict=True)]
        print(
            f"ratio baseline/service (throughput service/baseline): median "
            f"{statistics.median(ratios):.2f}, from {min(ratios):.2f} to {max(ratios):.2f}"
        )


def runner(name: str, target: str) -> Callable[[int], float]:
    """A function that sends `n` requests to the app and returns the time per request."""
    if name == "service":
        from app.main import app
    else:
        from bench.baseline import app

    path, _, query = target.partition("?")
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    loop = asyncio.new_event_loop()

    def one() -> None:
        loop.run_until_complete(app(scope(), receive, send))

    for _ in range(30):
        one()
    if set(statuses) != {200}:
        sys.exit(f"{name} answers {sorted(set(statuses))} to {target}")

    def run(requests: int) -> float:
        started = time.perf_counter()
        for _ in range(requests):
            operator.call(one)
        return (time.perf_counter() - started) / requests

    return run


if __name__ == "__main__":
    main()
