"""A real HTTP receiver for webhook tests: a server in the test process, on a loopback port,
that records every request and answers with the status it is told; it can be stopped (then
connections are refused) and started again on the same port, and it can hold a request open
(never answered) so that its delivery is provably in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.live_server import free_port


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    # Several workers send at once: the default backlog of 5 would refuse some connections.
    request_queue_size = 128


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: str


# The longest a held request stays open if the test never releases it (a failing test).
HOLD_LIMIT_SECONDS = 120


@dataclass
class Hold:
    """The first request that `matches` is held open: `arrived` is set once it is in (and
    recorded), and it is never answered; its connection is closed once `released` is set."""

    matches: Callable[[Received], bool]
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.status = 204
        self._lock = threading.Condition()
        self._holds: list[Hold] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                headers = {key.lower(): value for key, value in self.headers.items()}
                request = Received(headers=headers, body=body)
                with receiver._lock:
                    receiver.received.append(request)
                    receiver._lock.notify_all()
                    hold = receiver._hold_for(request)
                if hold is not None:
                    hold.released.wait(HOLD_LIMIT_SECONDS)
                    self.close_connection = True
                    return
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def hold(self, matches: Callable[[Received], bool]) -> Hold:
        """Hold the next request that `matches` open (see Hold)."""
        hold = Hold(matches)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _hold_for(self, request: Received) -> Hold | None:
        for hold in self._holds:
            if not hold.arrived.is_set() and hold.matches(request):
                hold.arrived.set()
                return hold
        return None

    def stop(self) -> None:
        with self._lock:
            for hold in self._holds:
                hold.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def ids(self) -> list[str]:
        with self._lock:
            return [request.headers["webhook-id"] for request in self.received]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether `count` requests have come (or come within `timeout` seconds): for a
        service in another process, whose worker the test cannot drive."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.received) >= count, timeout)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver started for the test and stopped after it."""
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture
def allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver is on the loopback interface, which webhooks may not target by default."""
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "webhook_allow_private", True)
