"""The live tail's store read, on both backends: ``events_after_seq`` returns what was
stored after a seq in arrival order (not occurred_at order), a page at a time, within
one tenant."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

T0 = 1_780_000_000_000_000  # 2026-05-28, microseconds


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def events(raw: list[dict[str, Any]]) -> list[EventIn]:
    return msgspec.convert(raw, list[EventIn])


def ev(i: int, *, hours_back: int = 0) -> dict[str, Any]:
    return {"action": "user.login", "actor": {"id": f"u-{i}"},
            "occurred_at": format_us(T0 + i * 1_000_000 - hours_back * 3_600_000_000)}


def test_events_after_seq_are_in_arrival_order(tb: Trailbook, tenant: Tenant) -> None:
    # Each later batch occurred earlier (a client sending old events late), so seq
    # order is the reverse of time order across batches.
    for batch in range(4):
        tb.events.ingest(tenant, events([ev(i, hours_back=24 * batch) for i in range(5)]))
    found = tb.store.events_after_seq(tenant.id, 0, 100)
    assert [e.seq for e in found] == list(range(1, 21))
    for e in found:
        doc = orjson.loads(e.doc)
        assert doc["seq"] == e.seq
        assert tb.store.get_event(tenant.id, bytes.fromhex(doc["id"].replace("-", ""))) == e
    assert [e.seq for e in tb.store.events_after_seq(tenant.id, 7, 5)] == [8, 9, 10, 11, 12]
    assert [e.seq for e in tb.store.events_after_seq(tenant.id, 18, 5)] == [19, 20]
    assert tb.store.events_after_seq(tenant.id, 20, 5) == []
    assert tb.store.events_after_seq(tenant.id, 1000, 5) == []


def test_pages_walk_every_event_once(tb: Trailbook, tenant: Tenant) -> None:
    tb.events.ingest(tenant, events([ev(i) for i in range(23)]))
    seen: list[int] = []
    after = 0
    while page := tb.store.events_after_seq(tenant.id, after, 7):
        seen += [e.seq for e in page]
        after = page[-1].seq
    assert seen == list(range(1, 24))


def test_other_tenants_events_are_not_returned(tb: Trailbook, tenant: Tenant) -> None:
    other = tb.tenants.create("other")
    tb.events.ingest(other, events([ev(i) for i in range(3)]))
    assert tb.store.events_after_seq(tenant.id, 0, 10) == []
    tb.events.ingest(tenant, events([ev(9)]))
    [mine] = tb.store.events_after_seq(tenant.id, 0, 10)
    assert orjson.loads(mine.doc)["tenant"] == "acme"
    assert [e.seq for e in tb.store.events_after_seq(other.id, 0, 10)] == [1, 2, 3]
