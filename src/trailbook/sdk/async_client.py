"""``AsyncClient``: the ``Client`` for asyncio programs.

Public API::

    async with AsyncClient(url, api_key, **same_options_as_Client) as client:
        client.log("user.login", actor="u-1")   # not awaited: it only enqueues
        await client.flush(timeout=None) -> bool
    await client.aclose(timeout=10.0)
    client.stats -> ClientStats

It shares the ``Client`` machinery (the queue, the spool and the sender thread), so
``log()`` never blocks the event loop and ``trailbook.context()`` works per task; only
``flush`` and ``aclose``, which wait, run in a worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from trailbook.sdk._event import EventLogger
from trailbook.sdk.client import Client, ClientStats


class AsyncClient(EventLogger):
    """See the module docstring; the options are ``Client``'s."""

    def __init__(self, url: str, api_key: str, *, batch_size: int = 500,
                 flush_interval: float = 1.0, queue_size: int = 100_000,
                 spool_path: str | Path | None = None, spool: bool = True,
                 timeout: float = 10.0, max_retries: int | None = None,
                 transport: httpx.BaseTransport | None = None, **options: Any) -> None:
        self.client = Client(url, api_key, batch_size=batch_size,
                             flush_interval=flush_interval, queue_size=queue_size,
                             spool_path=spool_path, spool=spool, timeout=timeout,
                             max_retries=max_retries, transport=transport, **options)

    def _emit(self, key: str, body: bytes) -> None:
        self.client._emit(key, body)

    @property
    def stats(self) -> ClientStats:
        return self.client.stats

    async def flush(self, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.client.flush, timeout)

    async def aclose(self, timeout: float = 10.0) -> None:
        await asyncio.to_thread(self.client.close, timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
