"""The scale benchmark's plumbing: the server it starts, a small HTTP/1.1 client, memory readings.

Loopback only: the server listens on 127.0.0.1 and the client talks to nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (of 20 values, p99 is the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def p50(values: list[float]) -> float:
    return statistics.median(values)


# --- the server ------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        """The server process and its workers (uvicorn's with --workers > 1)."""
        found = [self.process.pid]
        for pid in found:
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    found += [int(child) for child in task.read_text().split()]
                except OSError:
                    continue
        return found

    def errors(self) -> list[str]:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def afi_command() -> list[str]:
    script = Path(sys.executable).parent / "afi"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.cli import main; main()"]


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a script that compares answers through a server (`served`)."""
    parser.add_argument("--url", required=True)
    parser.add_argument("--workers", type=int, help="default: 2 on PostgreSQL, 1 on SQLite")
    parser.add_argument("--code", type=Path, help="a copy of the code to serve (default: this)")


def served(args: argparse.Namespace) -> AbstractContextManager[Server]:
    """The server of `add_server_arguments`' options, without the background worker."""
    workers = args.workers or (2 if args.url.startswith("postgresql") else 1)
    return running_server(args.url, workers=workers, worker=False, code=args.code)


@contextmanager
def running_server(
    database_url: str, *, workers: int, worker: bool = True, code: Path | None = None
) -> Iterator[Server]:
    """`afi serve` as a user starts it, with anonymous reads, on a free loopback port; without
    the background worker if not `worker` (so that it writes nothing while answers are
    compared); serving the checkout at `code` if given (a before/after comparison)."""
    workdir = Path(tempfile.mkdtemp(prefix="afi-scale-"))
    port = free_port()
    log = workdir / "server.log"
    env = {
        **os.environ,
        "AFI_DATABASE_URL": database_url,
        "AFI_PUBLIC_READ": "true",
        "AFI_LOG_LEVEL": "warning",
        "AFI_DATA_DIR": str(workdir / "data"),
        "AFI_SEEDS_DIR": str(workdir / "no-seeds"),
        **({"PYTHONPATH": str(code.resolve())} if code is not None else {}),
    }
    command = [*afi_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if not worker:
        command.append("--no-worker")
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603  (our own command, fixed arguments)
            [*command, "--workers", str(workers)], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    server = Server(port=port, process=process, log=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log}") from exc
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors = server.errors()
        if errors:
            kept = Path(tempfile.gettempdir()) / f"afi-scale-server-{port}.log"
            shutil.copy(log, kept)
            print(f"server log with {len(errors)} error lines kept in {kept}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


# --- memory ----------------------------------------------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakMemory:
    """The server's peak resident memory over a stretch: the kernel's high-water mark (VmHWM,
    reset first through clear_refs where allowed) and, as a cross-check, sampled VmRSS summed
    over the server's processes. Also the CPU time they used: on a machine shared with other
    work, a steadier figure than the time on the clock (not counting a database server's)."""

    def __init__(self, server: Server) -> None:
        self.pids = server.pids()
        self.sampled_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._cpu_before = {pid: _cpu_seconds(pid) for pid in self.pids}
        for pid in self.pids:
            with suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            total = sum(_status_kib(pid, "VmRSS") for pid in self.pids)
            self.sampled_kib = max(self.sampled_kib, total)

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) - before for pid, before in self._cpu_before.items())

    def high_water_kib(self) -> dict[int, int]:
        return {pid: _status_kib(pid, "VmHWM") for pid in self.pids}


# --- the client ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    seconds: float
    size: int
    body: bytes = b""
    lines: int = 0  # CRLF-terminated lines (CSV rows, header included)
    headers: dict[str, str] = field(default_factory=dict)


class Client:
    """One keep-alive HTTP/1.1 connection; reads Content-Length and chunked bodies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, target: str, *, keep_body: bool = True, timeout: float = 300) -> Answer:
        try:
            return await asyncio.wait_for(self._get(target, keep_body), timeout)
        except BaseException:
            await self.close()  # a request cut short leaves the connection unusable
            raise

    async def _get(self, target: str, keep_body: bool) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.reader, self.writer
        assert reader is not None
        started = time.perf_counter()
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        answer = Answer(status=status, seconds=0.0, size=0, headers=headers)
        body: list[bytes] = []
        previous = b""

        def take(chunk: bytes) -> None:
            nonlocal previous
            answer.size += len(chunk)
            answer.lines += chunk.count(b"\r\n") + (previous == b"\r" and chunk[:1] == b"\n")
            previous = chunk[-1:]
            if keep_body:
                body.append(chunk)

        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                length = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if length == 0:
                    await reader.readuntil(b"\r\n")
                    break
                take(await reader.readexactly(length))
                await reader.readexactly(2)
        else:
            remaining = int(headers.get("content-length", "0"))
            while remaining:
                chunk = await reader.read(min(remaining, 1 << 20))
                if not chunk:
                    raise ConnectionError("the server closed the connection mid-answer")
                take(chunk)
                remaining -= len(chunk)
        answer.seconds = time.perf_counter() - started
        answer.body = b"".join(body)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return answer
