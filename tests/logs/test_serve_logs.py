"""A real `trailbook serve` writes its logs folder: one access.log line per request
(path without the query string, status, client, request id)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx

from conftest import RunningServer


def _wait_for(read: Callable[[], str], pattern: str) -> str:
    """The file's text once ``pattern`` is in it (the line is written as the response
    ends, so it may land a moment after the client has the answer)."""
    deadline = time.monotonic() + 15
    while True:
        text = read()
        if re.search(pattern, text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_serve_writes_an_access_log(server: RunningServer) -> None:
    answer = httpx.get(f"{server.base_url}/api/v1/events?query=secret-token-123",
                       headers={"Authorization": f"Bearer {server.api_key}",
                                "X-Request-Id": "req-42"}, timeout=30)
    assert answer.status_code == 200
    access = server.data_dir / "logs" / "access.log"
    text = _wait_for(lambda: access.read_text() if access.exists() else "", "req-42")
    line = next(line for line in text.splitlines() if "request_id=req-42" in line)
    assert re.search(r' INFO \[\d+\] trailbook\.access: 127\.0\.0\.1 "GET /api/v1/events" '
                     r"200 \d+\.\dms request_id=req-42$", line), line
    assert "secret-token-123" not in text
    listed = httpx.get(f"{server.base_url}/api/v1/server-logs",
                       headers={"Authorization": f"Bearer {server.api_key}"}, timeout=30)
    assert listed.status_code == 403  # API keys do not read server logs
