"""Benchmark the action read path against a bare ASGI baseline running the same SQL.

    .venv/bin/python bench/run.py                       # 10000 actions in a temporary SQLite file
    .venv/bin/python bench/run.py -n 2000 --db /tmp/afi-bench.db --requests 500

1. Fills a fresh SQLite database with N actions (bench/dataset.py) through the real import path:
   synthetic report texts in the seed's format, loaded with app.services.reports.import_text;
   then gives the actions varied statuses, priorities, owners and due dates.
2. Records, in process, the SQL statements the service sends for each benchmarked request.
3. Starts the service (uvicorn, one worker, 127.0.0.1, a free port), loads each endpoint with a
   bounded number of keep-alive requests, and prints requests/s and p50/p99 latency.
4. Does the same against bench/baseline.py (stdlib sqlite3 + orjson replaying those statements)
   and prints the ratio service / baseline.

Prints figures; asserts nothing about them. Loopback only; stops its servers when done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# --- endpoints and their SQL -----------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    target: str
    shape: str  # page | stats | one
    limit: int = 0
    sort: str = "id"
    group_by: str = ""


def viewer_token() -> str:
    from app.db import SessionLocal
    from app.enums import Role
    from app.services.tokens import create_token

    with SessionLocal.begin() as session:
        _token, secret = create_token(session=session, name="bench", role=Role.VIEWER)
    return secret


def endpoints_and_spec(spec_path: Path, headers: dict[str, str]) -> list[Endpoint]:
    """The benchmarked requests, and (written to spec_path) the SQL the service runs for each,
    recorded in process with SQLAlchemy's before_cursor_execute event."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event, select

    from app import clock
    from app.db import SessionLocal, engine
    from app.main import create_app
    from app.models import Action

    client = TestClient(create_app(), headers=headers)
    filtered = "/api/v1/actions?status=open&status=in_progress&priority=high&priority=critical"
    endpoints = [
        Endpoint("list default", "/api/v1/actions", "page", 50, "id"),
        Endpoint("list filtered+sorted", f"{filtered}&sort=due_date", "page", 50, "due_date"),
    ]
    link = client.get(endpoints[1].target).headers.get("link", "")
    if link.startswith("<"):
        target = link[1 : link.index(">")].removeprefix(str(client.base_url))
        endpoints.append(Endpoint("list page 2 (cursor)", target, "page", 50, "due_date"))
    endpoints.append(Endpoint("stats by owner", "/api/v1/stats?group_by=owner", "stats"))
    with SessionLocal() as session:
        ids = session.scalars(select(Action.id).order_by(Action.id)).all()
    if ids:
        endpoints.append(Endpoint("one action", f"/api/v1/actions/{ids[len(ids) // 2]}", "one"))

    targets: dict[str, Any] = {}
    kept = []
    for endpoint in endpoints:
        statements: list[tuple[str, Any]] = []

        def record(_c: Any, _cur: Any, sql: str, params: Any, *_a: Any) -> None:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                statements.append((sql, list(params)))  # noqa: B023

        event.listen(engine, "before_cursor_execute", record)
        try:
            response = client.get(endpoint.target)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        if response.status_code != 200:
            print(f"skip {endpoint.name}: {endpoint.target} answers {response.status_code}")
            continue
        kept.append(endpoint)
        reads_actions = [i for i, (sql, _) in enumerate(statements) if " action" in sql]
        targets[endpoint.target] = {
            "statements": statements,
            "body": reads_actions[0] if reads_actions else 0,
            "shape": endpoint.shape,
            "limit": endpoint.limit,
            "sort": endpoint.sort,
            "group_by": "owner",
        }
    spec = {"as_of": clock.today().isoformat(), "targets": targets}
    spec_path.write_text(json.dumps(spec, default=str), encoding="utf-8")
    return kept


# --- servers and load ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(app: str, env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                    break
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP error status: the server answers
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start") from exc
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _worker(
    port: int,
    target: str,
    count: int,
    latencies: list[float],
    failures: list[int],
    stop: float,
    extra: str = "",
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
    payload = (request + extra + "\r\n").encode()
    try:
        for _ in range(count):
            if time.perf_counter() > stop:
                return
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append(status)
    finally:
        writer.close()
        await writer.wait_closed()


async def load(
    port: int, target: str, *, requests: int, concurrency: int, max_seconds: float, extra: str
) -> dict[str, float]:
    warm: list[float] = []
    await _worker(port, target, 50, warm, [], time.perf_counter() + 10, extra)
    latencies: list[float] = []
    failures: list[int] = []
    per_worker = max(requests // concurrency, 1)
    started = time.perf_counter()
    stop = started + max_seconds
    await asyncio.gather(
        *(
            _worker(port, target, per_worker, latencies, failures, stop, extra)
            for _ in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "failures": len(failures),
    }


def measure(
    env: dict[str, str],
    baseline_env: dict[str, str],
    endpoints: list[Endpoint],
    args: argparse.Namespace,
    headers: dict[str, str],
) -> dict[str, dict[str, dict[str, float]]]:
    """Load each endpoint on the service and on the baseline in turn, `args.rounds` times.

    Both servers run throughout and take turns, so that a slow spell of the machine (it is
    shared with the client and, often, with other work) weighs on both sides of each ratio."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    results: dict[str, dict[str, dict[str, float]]] = {}

    def run(port: int, endpoint: Endpoint) -> dict[str, float]:
        return asyncio.run(
            load(
                port,
                endpoint.target,
                requests=args.requests,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
                extra=extra,
            )
        )

    with server("app.main:app", env) as port, server("bench.baseline:app", baseline_env) as base:
        for endpoint in endpoints:
            rounds = [(run(port, endpoint), run(base, endpoint)) for _ in range(args.rounds)]
            results[endpoint.name] = {
                "service": _median(service for service, _ in rounds),
                "baseline": _median(baseline for _, baseline in rounds),
                "ratio": {
                    "value": statistics.median(s["rps"] / b["rps"] for s, b in rounds),
                    "failures": sum(s["failures"] + b["failures"] for s, b in rounds),
                },
            }
    return results


def _median(runs: Iterable[dict[str, float]]) -> dict[str, float]:
    runs = list(runs)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--actions", type=int, default=10_000, help="actions to create")
    parser.add_argument("--db", help="SQLite file or sqlite:/// URL (default: a temporary file)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per load run")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="cap per load run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating service/baseline runs per endpoint"
    )
    parser.add_argument(
        "--token",
        action="store_true",
        help="send a viewer token (default: anonymous reads with AFI_PUBLIC_READ=true)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="afi-bench-"))
    path = args.db.removeprefix("sqlite:///") if args.db else str(workdir / "bench.db")
    if Path(path).exists():
        sys.exit(f"{path} exists; the benchmark needs a fresh database")
    url = f"sqlite:///{path}"
    public = "false" if args.token else "true"
    os.environ.update(
        AFI_DATABASE_URL=url,
        AFI_DATA_DIR=str(workdir / "data"),
        AFI_LOG_LEVEL="warning",
        AFI_PUBLIC_READ=public,
    )
    sys.path.insert(0, str(ROOT))

    from bench.dataset import fill_database

    try:
        fill_database(url, args.actions)
        headers = {"Authorization": f"Bearer {viewer_token()}"} if args.token else {}
        spec = workdir / "spec.json"
        endpoints = endpoints_and_spec(spec, headers)
        service_env = {"AFI_DATABASE_URL": url, "AFI_PUBLIC_READ": public}
        baseline_env = {"BENCH_DB": path, "BENCH_SPEC": str(spec)}
        results = measure(service_env, baseline_env, endpoints, args, headers)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # a --db file outside it is kept

    who = "with a viewer token" if args.token else "anonymous, public reads"
    print(
        f"\n{args.actions} actions, {args.concurrency} connections, one uvicorn worker each, "
        f"{who}; medians of {args.rounds} alternating rounds"
    )
    print(
        f"{'endpoint':<22} {'service req/s':>13} {'p50 ms':>7} {'p99 ms':>7}   "
        f"{'baseline req/s':>14} {'p50 ms':>7} {'p99 ms':>7}   {'ratio':>5}"
    )
    for endpoint in endpoints:
        result = results[endpoint.name]
        s, b, ratio = result["service"], result["baseline"], result["ratio"]
        note = "  (non-200 answers!)" if ratio["failures"] else ""
        print(
            f"{endpoint.name:<22} {s['rps']:>13.0f} {s['p50']:>7.2f} {s['p99']:>7.2f}   "
            f"{b['rps']:>14.0f} {b['p50']:>7.2f} {b['p99']:>7.2f}   "
            f"{ratio['value']:>5.2f}{note}"
        )


if __name__ == "__main__":
    main()
