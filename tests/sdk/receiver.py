"""A stand-in for the Trailbook API on loopback (stdlib HTTP server in a thread): it
records every POST /api/v1/events batch and answers with the scripted replies, then 201.

    with Receiver([Reply(429, {"Retry-After": "1"}), Reply(503)]) as rx:
        client = Client(rx.url, "key", ...)
        ...
        rx.batches       # the JSON arrays received, in order (refused ones included)
        rx.stored        # events of the batches answered 2xx, in order
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    def __init__(self, replies: list[Reply] | None = None, port: int | None = None) -> None:
        self.replies = list(replies or [])
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.batches: list[list[dict[str, Any]]] = []
        self.times: list[float] = []
        self.statuses: list[int] = []
        self.authorizations: list[str] = []
        self.stored: list[dict[str, Any]] = []
        self.gate = threading.Event()  # cleared: requests wait until it is set
        self.gate.set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.gate.wait(30)
                with receiver.lock:
                    batch = orjson.loads(body)
                    reply = receiver.replies.pop(0) if receiver.replies else Reply(201)
                    receiver.batches.append(batch)
                    receiver.times.append(time.monotonic())
                    receiver.statuses.append(reply.status)
                    receiver.authorizations.append(self.headers.get("Authorization", ""))
                    if reply.status < 300:
                        receiver.stored.extend(batch)
                payload = orjson.dumps(reply.body if reply.body is not None else {})
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def stored_keys(self) -> list[str]:
        with self.lock:
            return [event["idempotency_key"] for event in self.stored]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    """Poll ``condition()`` until true; fail after ``timeout`` seconds (a deadline for a
    hung test, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
