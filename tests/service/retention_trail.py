"""A trail to run retention over, shared by the retention tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import orjson

from trailbook.model.event import EventIn
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW_US = int(NOW.timestamp() * 1_000_000)


def event_at(category: str, days_ago: float, n: int, **extra: object) -> dict[str, object]:
    at = NOW - timedelta(days=days_ago)
    return {"category": category, "action": f"{category}.thing", "actor": {"id": f"u-{n}"},
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "idempotency_key": f"k-{n}", "metadata": {"n": n}, **extra}


def ingest(tb: Trailbook, tenant: Tenant, events: list[dict[str, object]]) -> None:
    for at in range(0, len(events), 50):
        tb.events.ingest(tenant, msgspec.convert(events[at:at + 50], list[EventIn]))


def trail(tb: Trailbook, tenant: Tenant) -> list[dict[str, object]]:
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    return [orjson.loads(doc) for _, doc, _ in tb.store.chain_links(tenant.id, 0, head.seq)
            if doc is not None]


def mixed_trail(tb: Trailbook, tenant: Tenant) -> None:
    """300 events: device events 400 and 10 days old, access events 100 days old, a
    few old device events of miner m-7 (to be held); then a checkpoint covers them."""
    events = []
    for n in range(300):
        if n % 3 == 0:
            events.append(event_at("device", 400, n))
        elif n % 3 == 1:
            events.append(event_at("access", 100, n))
        else:
            events.append(event_at("device", 10, n))
    for n in range(300, 306):
        events.append(event_at("device", 500, n, targets=[{"type": "miner", "id": "m-7"}]))
    ingest(tb, tenant, events)
    tb.checkpoints.checkpoint_pending()


def set_policies(tb: Trailbook, tenant: Tenant) -> None:
    tb.retention_rules.set_policy(None, tenant, "device", 365, CLI)
    tb.retention_rules.set_policy(None, tenant, "*", 30, CLI)
    tb.retention_rules.set_policy(None, tenant, "admin", None, CLI)  # forever
