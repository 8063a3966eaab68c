"""trailbook.context(): nesting, threads, asyncio tasks, decorators."""

from __future__ import annotations

import asyncio
import threading

from trailbook.sdk import Client, context, current_context
from trailbook.sdk.testing import capture


def test_nesting_merges_and_restores() -> None:
    assert current_context().actor is None
    with context(actor="u-1", request_id="r-1", tenant_hint="a"):
        with context(request_id="r-2", ip="10.0.0.1", step=2) as inner:
            assert inner.actor == {"id": "u-1"}
            assert (inner.request_id, inner.ip) == ("r-2", "10.0.0.1")
            assert dict(inner.metadata) == {"tenant_hint": "a", "step": 2}
        assert current_context().request_id == "r-1"
        assert current_context().ip is None
    assert current_context().request_id is None


def test_context_fills_events_and_explicit_values_win() -> None:
    client = Client.__new__(Client)  # log() needs no connection under capture()
    with capture() as events, context(actor={"id": "u-1", "name": "Ann"}, request_id="r-1",
                                      session_id="s-1", ip="2001:db8::1", user_agent="ua",
                                      scope="billing", origin="web"):
        client.log("invoice.update", metadata={"amount": 5})
        client.log("invoice.read", actor="u-2", request_id="r-9", scope="other",
                   source={"ip": "10.0.0.2", "country": "DE"}, metadata={"origin": "api"})
    first, second = events
    assert first["actor"] == {"id": "u-1", "name": "Ann"}
    assert (first["request_id"], first["session_id"], first["scope"]) == ("r-1", "s-1", "billing")
    assert first["source"] == {"ip": "2001:db8::1", "user_agent": "ua"}
    assert first["metadata"] == {"origin": "web", "amount": 5}
    assert second["actor"] == {"id": "u-2"}
    assert (second["request_id"], second["scope"]) == ("r-9", "other")
    assert second["source"] == {"ip": "10.0.0.2", "country": "DE", "user_agent": "ua"}
    assert second["metadata"] == {"origin": "api"}


def test_threads_see_their_own_context() -> None:
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with context(actor=name):
            barrier.wait()  # both inside their context at once
            actor = current_context().actor
            seen[name] = actor["id"] if actor else None

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": "a", "b": "b"}
    assert current_context().actor is None


def test_asyncio_tasks_inherit_and_isolate() -> None:
    async def child(request_id: str) -> tuple[str | None, str | None]:
        with context(request_id=request_id):
            await asyncio.sleep(0.01)
            ctx = current_context()
            return (ctx.actor["id"] if ctx.actor else None), ctx.request_id

    async def main() -> list[tuple[str | None, str | None]]:
        with context(actor="u-1"):
            results = await asyncio.gather(child("r-1"), child("r-2"))
            assert current_context().request_id is None
            return list(results)

    assert asyncio.run(main()) == [("u-1", "r-1"), ("u-1", "r-2")]


def test_decorator_on_sync_and_async_functions() -> None:
    @context(actor="cron", job="nightly")
    def job() -> tuple[str | None, object]:
        ctx = current_context()
        return (ctx.actor["id"] if ctx.actor else None), ctx.metadata.get("job")

    @context(actor="worker")
    async def task() -> str | None:
        await asyncio.sleep(0)
        ctx = current_context()
        return ctx.actor["id"] if ctx.actor else None

    assert job() == ("cron", "nightly")
    assert asyncio.run(task()) == "worker"
    assert current_context().actor is None
    # Concurrent calls of one decorated function do not share state.
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(job())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [("cron", "nightly")] * 4
