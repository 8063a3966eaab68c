"""Retention on PostgreSQL drops a month partition whose every row is purged, instead
of deleting its rows one by one; a month that keeps an event keeps its partition."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from service.retention_trail import NOW, NOW_US, event_at, ingest
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.service.integrity import verify_store
from trailbook.store.records import Tenant


@pytest.fixture
def backend() -> str:
    return "postgres"


def _partitions(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass")}


def test_a_month_wholly_past_its_policy_is_dropped(tb: Trailbook, tenant: Tenant,
                                                   database_url: str) -> None:
    tb.store.maintain(NOW - timedelta(days=400))  # the months of that time, as then
    assert {"events_2025_10", "events_2025_11"} <= _partitions(database_url)
    ingest(tb, tenant, [event_at("device", 400, n) for n in range(40)]  # 2025-10
           + [event_at("device", 370, n) for n in range(40, 80)]  # 2025-11
           + [event_at("admin", 370, 80)]  # 2025-11, kept forever
           + [event_at("device", 1, n) for n in range(81, 90)])
    tb.checkpoints.checkpoint_pending()
    tb.retention_rules.set_policy(None, tenant, "device", 365, CLI)

    report = tb.retention.run(tenant, now=NOW_US)

    assert report.error is None and report.purged == 80
    assert report.partitions_dropped == ["events_2025_10"]
    left = _partitions(database_url)
    assert "events_2025_10" not in left and "events_2025_11" in left
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM events_2025_11").fetchone()
    assert row is not None and row[0] == 1  # the admin event
    assert verify_store(tb.store, tb.signer, tenant).ok


def test_events_are_still_refused_any_change_outside_retention(tb: Trailbook, tenant: Tenant,
                                                               database_url: str) -> None:
    ingest(tb, tenant, [event_at("device", 1, n) for n in range(3)])
    with psycopg.connect(database_url) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("DELETE FROM events")
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO purged_events VALUES (%s, 99, %s, %s, 'x')",
                     (tenant.id, bytes(32), bytes(32)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE purged_events SET seq = seq + 1")
