"""The access log: one line per HTTP request in access.log (logger ``trailbook.access``):
client address, method, path (never the query string, which may hold secrets), status,
duration and request id (the client's X-Request-Id, or one made here)."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("trailbook.access")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"\\]")
_REQUEST_ID = re.compile(r"[^A-Za-z0-9._:-]")


def _clean(text: str, limit: int = 2048) -> str:
    """A value safe on one line of the log (no newlines, quotes or spaces)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            client = scope.get("client")
            sent_id = dict(scope.get("headers") or ()).get(b"x-request-id", b"")
            request_id = _REQUEST_ID.sub("", sent_id.decode("latin-1"))[:128] \
                or secrets.token_hex(8)
            log.info('%s "%s %s" %d %.1fms request_id=%s',
                     client[0] if client else "-", _clean(scope.get("method", "")),
                     _clean(scope.get("path", "")), status or 500, elapsed, request_id)
