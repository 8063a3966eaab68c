"""Scheduled tasks: each shared task runs once per period however many processes serve
the database (claimed in ``task_runs``), and what runs is recorded as ``system``
events in each tenant's trail."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import CHEAP_PASSWORDS

from trailbook.model.event import convert_event
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.service.scheduler import Outcome, Scheduler, Task, server_scheduler
from trailbook.settings import load_settings
from trailbook.store.records import Tenant

PERIOD = 60.0
PERIOD_US = int(PERIOD * 1_000_000)
# A period start, and a moment inside that period.
T0 = 1_800_000_000 * 1_000_000
SHARED = ("partitions", "housekeeping", "health", "retention")


BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgres"])


def open_tb(data_dir: Path, database_url: str | None) -> Trailbook:
    return Trailbook.open(load_settings(
        data_dir=data_dir, database_url=database_url, health_check_seconds=PERIOD,
        task_partitions_seconds=PERIOD, task_housekeeping_seconds=PERIOD,
        task_retention_seconds=PERIOD, checkpoint_every_seconds=PERIOD, **CHEAP_PASSWORDS))


def system_events(tb: Trailbook, tenant: Tenant, action: str) -> list[dict[str, Any]]:
    found = tb.store.search(tenant.id, EventFilter(categories=("system",), actions=(action,)),
                            None, 1000)
    return [orjson.loads(e.doc) for e in found]


@BOTH
def test_a_period_is_claimed_once(tb: Trailbook) -> None:
    runs = tb.store.task_runs

    assert runs.claim("health", T0, "process-a", T0 + 5)
    assert not runs.claim("health", T0, "process-b", T0 + 6)
    assert not runs.claim("health", T0, "process-a", T0 + 7)
    # Another period, or another task in the same period, is free.
    assert runs.claim("health", T0 + PERIOD_US, "process-b", T0 + PERIOD_US)
    assert runs.claim("partitions", T0, "process-b", T0 + 8)

    # Only the holder finishes its run.
    assert not runs.finish("health", T0, "process-b", T0 + 9, True, {})
    assert runs.finish("health", T0, "process-a", T0 + 9, False, {"error": "boom"})
    run = runs.get("health", T0)
    assert run is not None
    assert (run.holder, run.ok, run.summary) == ("process-a", False, {"error": "boom"})


@pytest.fixture
def two_processes(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Trailbook,
                                                                           Trailbook]]:
    """Two Trailbooks serving one database, as two server processes do."""
    first = open_tb(tmp_path / "data", database_url)
    second = open_tb(tmp_path / "data", database_url)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


@BOTH
def test_two_processes_run_each_shared_task_once_per_period(
        two_processes: tuple[Trailbook, Trailbook]) -> None:
    first, second = two_processes
    tenants = [first.tenants.create("acme"), first.tenants.create("globex")]
    first.retention_rules.set_policy(None, tenants[0], "*", 365, CLI)  # acme has a policy
    schedulers = [server_scheduler(first), server_scheduler(second)]
    periods = 3
    ran: list[list[str]] = [[], []]
    for period in range(periods):
        now = T0 + period * PERIOD_US + 1_000
        # Both processes reach the same period at the same moment.
        barrier = threading.Barrier(2)

        def tick(index: int, at: int, together: threading.Barrier) -> None:
            together.wait()
            ran[index].extend(schedulers[index].run_due(at))

        threads = [threading.Thread(target=tick, args=(i, now, barrier)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for task in SHARED:
        # Once per period across both processes, never twice.
        assert ran[0].count(task) + ran[1].count(task) == periods, task
        for period in range(periods):
            run = first.store.task_runs.get(task, T0 + period * PERIOD_US)
            assert run is not None and run.ok, (task, period)
            assert run.holder in {s.holder for s in schedulers}
    # Per-process tasks (checkpoints of what each process sealed) run in both.
    assert ran[0].count("checkpoints") == ran[1].count("checkpoints") == periods

    for tenant in tenants:
        checks = system_events(first, tenant, "system.health.check")
        assert len(checks) == periods
        assert len({c["metadata"]["period_start"] for c in checks}) == periods
        assert all(c["severity"] == "info" and c["result"] == "success" for c in checks)
        assert len(system_events(first, tenant, "system.partitions.run")) == periods
        # Routine housekeeping is not recorded one by one: the health check counts it.
        assert system_events(first, tenant, "system.housekeeping.run") == []
    # A retention run per period for the tenant with a policy, none for the other.
    runs = system_events(first, tenants[0], "system.retention.run")
    assert len(runs) == periods and all(r["result"] == "success" for r in runs)
    assert system_events(first, tenants[1], "system.retention.run") == []
    newest = system_events(first, tenants[0], "system.health.check")[0]
    assert newest["metadata"]["tasks"]["housekeeping"] == {"ok": 1}


def test_a_failing_shared_task_is_recorded_as_critical(tb: Trailbook, tenant: Tenant) -> None:
    other = tb.tenants.create("globex")

    def broken(_: int) -> Outcome:
        raise RuntimeError("disk on fire")

    scheduler = Scheduler(tb, [Task("partitions", PERIOD, broken)])
    assert scheduler.run_due(T0) == ["partitions"]
    assert scheduler.run_due(T0 + 1) == []  # same period: not again

    for who in (tenant, other):
        [event] = system_events(tb, who, "system.partitions.run")
        assert event["result"] == "failure"
        assert event["severity"] == "critical"
        assert "disk on fire" in event["reason"]
        assert event["actor"]["type"] == "system"
    run = tb.store.task_runs.get("partitions", T0)
    assert run is not None and run.ok is False


def test_a_per_process_task_records_when_failures_start_and_end(tb: Trailbook,
                                                                tenant: Tenant) -> None:
    other = tb.tenants.create("globex")
    answers = [Outcome(failed={"acme": "seq 4: broken"}), Outcome(failed={"acme": "again"}),
               Outcome({"signed": 1})]
    scheduler = Scheduler(tb, [Task("checkpoints", PERIOD, lambda _: answers.pop(0),
                                    shared=False)])
    for period in range(3):
        scheduler.run_due(T0 + period * PERIOD_US)

    events = system_events(tb, tenant, "system.checkpoints.run")
    assert [(e["result"], e["severity"]) for e in reversed(events)] == [
        ("failure", "critical"), ("success", "notice")]
    assert system_events(tb, other, "system.checkpoints.run") == []
    # Not claimed: a per-process task leaves no run in the shared table.
    assert tb.store.task_runs.get("checkpoints", T0) is None


def tamper_newest_event(tb: Trailbook, tenant: Tenant, data_dir: Path) -> int:
    """Rewrite the tenant's newest event (an actor id u-1 becomes u-2) without
    re-chaining it; its seq."""
    tb.events.ingest(tenant, [convert_event({"action": "user.login", "actor": {"id": "u-1"}})],
                     batch=False)
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    conn = sqlite3.connect(data_dir / "trailbook.db", isolation_level=None)
    conn.execute("DROP TRIGGER events_append_only_update")
    conn.execute("UPDATE events SET doc = CAST(replace(CAST(doc AS TEXT), 'u-1', 'u-2')"
                 " AS BLOB) WHERE tenant_id = ? AND seq = ?", (tenant.id, head.seq))
    conn.close()
    return head.seq


def test_the_health_check_records_a_tampered_event_as_critical(
        tb: Trailbook, tenant: Tenant, data_dir: Path) -> None:
    other = tb.tenants.create("globex")
    seq = tamper_newest_event(tb, tenant, data_dir)

    scheduler = server_scheduler(tb)
    scheduler.run(next(t for t in scheduler.tasks if t.name == "health"), T0, T0)

    [event] = system_events(tb, tenant, "system.health.check")
    assert event["severity"] == "critical"
    assert event["result"] == "failure"
    chain = [c for c in event["metadata"]["checks"] if c["check"] == "chain"]
    assert [(c["status"], c["tenant"]) for c in chain] == [("critical", "acme")]
    assert f"seq {seq}:" in chain[0]["detail"]
    # The other tenant's trail gets its own findings, not acme's.
    [theirs] = system_events(tb, other, "system.health.check")
    assert theirs["severity"] == "info"
    assert {c.get("tenant") for c in theirs["metadata"]["checks"]} == {None, "globex"}
    run = tb.store.task_runs.get("health", T0)
    assert run is not None and run.ok is False
