"""The health checks, one by one, on a real store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trailbook.model.event import convert_event
from trailbook.service.app import Trailbook
from trailbook.service.health import HealthService
from trailbook.settings import load_settings
from trailbook.store.records import ChainHead, Tenant


def ingest(tb: Trailbook, tenant: Tenant, count: int) -> None:
    tb.events.ingest(tenant, [convert_event({"action": "user.login", "actor": {"id": "u-1"}})
                              for _ in range(count)])


def sql(data_dir: Path, statement: str, params: tuple[object, ...]) -> None:
    conn = sqlite3.connect(data_dir / "trailbook.db", isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_append_only_update")
    conn.execute(statement, params)
    conn.close()


def test_a_healthy_trail_has_no_problem(tb: Trailbook, tenant: Tenant) -> None:
    ingest(tb, tenant, 150)  # past a checkpoint (every 100 events here)

    report = tb.health.check()

    assert report.status == "ok", [f for f in report.findings if f.status != "ok"]
    assert report.ready
    [chain] = [f for f in report.findings if f.check == "chain"]
    assert chain.data["checkpoint"] == 150  # signed after the batch that crossed 100


def test_events_and_a_checkpoint_stored_while_the_check_reads_are_no_problem(
        tb: Trailbook, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest goes on while the check reads: a checkpoint signed past the head the
    check read is not taken for events removed."""
    ingest(tb, tenant, 100)
    read_head = tb.store.chain_head

    def head_then_more_events(tenant_id: int) -> ChainHead | None:
        head = read_head(tenant_id)
        monkeypatch.setattr(tb.store, "chain_head", read_head)
        ingest(tb, tenant, 150)  # signs a checkpoint past that head
        return head

    monkeypatch.setattr(tb.store, "chain_head", head_then_more_events)

    report = tb.health.check()

    [chain] = [f for f in report.findings if f.check == "chain"]
    assert chain.status == "ok", chain.detail
    assert chain.data == {"head": 100, "relinked": 100, "checkpoint": 100}
    newest = tb.store.latest_checkpoint(tenant.id)
    assert newest is not None and newest.seq == 250  # it was signed meanwhile


def test_a_tampered_newest_event_is_critical(tb: Trailbook, tenant: Tenant,
                                            data_dir: Path) -> None:
    ingest(tb, tenant, 5)
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    sql(data_dir, "UPDATE events SET doc = CAST(replace(CAST(doc AS TEXT), 'u-1', 'u-9')"
        " AS BLOB) WHERE tenant_id = ? AND seq = ?", (tenant.id, head.seq))

    report = tb.health.check()

    [chain] = [f for f in report.findings if f.check == "chain"]
    assert chain.status == "critical"
    assert chain.tenant == "acme"
    assert f"seq {head.seq}:" in chain.detail
    assert report.status == "critical"
    assert report.ready  # the server still stores and signs: readiness is not the chain


def test_a_forged_checkpoint_signature_is_critical(tb: Trailbook, tenant: Tenant,
                                                   data_dir: Path) -> None:
    ingest(tb, tenant, 100)
    assert tb.store.latest_checkpoint(tenant.id) is not None
    sql(data_dir, "UPDATE checkpoints SET signature = ? WHERE tenant_id = ?",
        (bytes(64), tenant.id))

    [chain] = [f for f in tb.health.check().findings if f.check == "chain"]

    assert chain.status == "critical"
    assert "signature" in chain.detail


def test_only_the_newest_events_are_relinked(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, health_chain_events=10,
                             checkpoint_every_events=1000)
    with Trailbook.open(settings) as tb:
        tenant = tb.tenants.create("acme")
        ingest(tb, tenant, 50)
        # Damage far behind the head is for 'trailbook verify', not the health check.
        sql(tmp_path, "UPDATE events SET doc = CAST(replace(CAST(doc AS TEXT), 'u-1', "
            "'u-9') AS BLOB) WHERE tenant_id = ? AND seq = 5", (tenant.id,))

        [chain] = [f for f in tb.health.check().findings if f.check == "chain"]

        assert chain.status == "ok"
        assert chain.data["relinked"] == 10


def test_a_broken_signing_key_is_critical(tb: Trailbook) -> None:
    tb.settings.resolved_signing_key_path.write_bytes(b"garbage")

    finding = tb.health.check_signing_key()

    assert finding.status == "critical"
    assert not tb.health.readiness().ready


def test_a_key_rotated_on_disk_is_a_warning(tb: Trailbook, tmp_path: Path) -> None:
    other = Trailbook.open(load_settings(data_dir=tmp_path / "other"))
    other.close()
    path = tb.settings.resolved_signing_key_path
    path.write_bytes(other.settings.resolved_signing_key_path.read_bytes())

    finding = tb.health.check_signing_key()

    assert finding.status == "warning"
    assert "restart" in finding.detail


def test_no_free_space_is_critical(tb: Trailbook, data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir, health_disk_min_free_mb=10**12)
    health = HealthService(tb.store, tb.signer, settings)

    findings = health.check_disk()

    assert findings and all(f.status == "critical" for f in findings)
    assert str(data_dir) not in repr(findings)  # named by what, not where


def test_alert_lag_behind_the_head_is_a_warning(tb: Trailbook, tenant: Tenant) -> None:
    ingest(tb, tenant, 30)
    settings = load_settings(data_dir=tb.settings.data_dir, health_lag_events=10)
    health = HealthService(tb.store, tb.signer, settings)
    assert health.check_alert_lag(tenant) is None  # no rules: nothing follows the trail
    tb.store.alerts.commit_batch(tenant.id, 5, [], [], [])

    finding = health.check_alert_lag(tenant)

    assert finding is not None
    assert finding.status == "warning"
    assert finding.data["events_behind"] > 10
