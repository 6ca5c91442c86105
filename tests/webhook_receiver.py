"""A real HTTP receiver for webhook tests: a server in the test process, on a loopback port,
that records every request and answers with the status it is told; it can be stopped (then
connections are refused) and started again on the same port."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.live_server import free_port


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    # Several workers send at once: the default backlog of 5 would refuse some connections.
    request_queue_size = 128


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: str


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.status = 204
        self._lock = threading.Condition()
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
                with receiver._lock:
                    receiver.received.append(Received(headers=headers, body=body))
                    receiver._lock.notify_all()
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
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
