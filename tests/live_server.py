"""The service run as a user runs it: uvicorn in a process of its own, on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(
    env: dict[str, str], workdir: Path, *, log: Path | None = None, prefix: tuple[str, ...] = ()
) -> Iterator[str]:
    """uvicorn serving the app with `env` in `workdir` (its output in `log`, if given); yields
    its base URL once it answers, and stops it after."""
    port = free_port()
    output = log.open("wb") if log is not None else None
    try:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
             "--log-level", "warning"],
            env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT if output else None,
        )  # fmt: skip
    finally:
        if output is not None:
            output.close()
    try:
        base = f"http://127.0.0.1:{port}"
        # Connection retries (with backoff) wait for the server to listen.
        with httpx.Client(transport=httpx.HTTPTransport(retries=8)) as client:
            assert client.get(f"{base}/health", timeout=30).status_code == 200
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
