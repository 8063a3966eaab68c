"""Against a real `trailbook serve`: retried batches are stored once; AsyncClient."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from conftest import RunningServer
from trailbook.sdk import AsyncClient, Client


class LosesFirstResponse(httpx.HTTPTransport):
    """Delivers each request, but loses the response of the first one: the client sees
    a network error after the server stored the batch, and must retry."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.requests += 1
        if self.requests == 1:
            response.read()
            raise httpx.ReadError("connection reset (test)", request=request)
        return response


def _verify(server: RunningServer) -> dict[str, object]:
    found: dict[str, object] = httpx.get(
        f"{server.base_url}/api/v1/verify", timeout=60,
        headers={"Authorization": f"Bearer {server.api_key}"}).json()
    return found


def test_a_retried_batch_is_stored_once(server: RunningServer, tmp_path: Path) -> None:
    transport = LosesFirstResponse()
    client = Client(server.base_url, server.api_key, spool_path=tmp_path / "spool.db",
                    batch_size=50, flush_interval=60, transport=transport,
                    retry_backoff=0.05)
    keys = [client.log("doc.update", actor="u-1", metadata={"i": i}) for i in range(50)]
    assert client.flush(timeout=60)
    client.close()
    assert transport.requests == 2  # the batch went twice
    report = _verify(server)
    assert report["ok"] is True
    assert report["last_seq"] == server.setup_seq + 50  # stored once
    found = httpx.get(f"{server.base_url}/api/v1/events", params={"limit": 100},
                      headers={"Authorization": f"Bearer {server.api_key}"}).json()
    stored = [e["idempotency_key"] for e in found["events"] if e["action"] == "doc.update"]
    assert sorted(stored) == sorted(keys)


def test_async_client(server: RunningServer, tmp_path: Path) -> None:
    async def main() -> list[str]:
        async with AsyncClient(server.base_url, server.api_key,
                               spool_path=tmp_path / "spool.db", flush_interval=60) as client:
            keys = [client.log("job.run", actor={"id": "worker", "type": "system"})
                    for _ in range(20)]
            assert await client.flush(timeout=60)
            assert client.stats.sent == 20
        return keys

    keys = asyncio.run(main())
    found = httpx.get(f"{server.base_url}/api/v1/events", params={"limit": 100},
                      headers={"Authorization": f"Bearer {server.api_key}"}).json()
    assert sorted(e["idempotency_key"] for e in found["events"] if e["action"] == "job.run") \
        == sorted(keys)
    assert _verify(server)["ok"] is True
