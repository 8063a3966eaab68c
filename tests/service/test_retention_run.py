"""Retention runs on both backends: after a run the events past their policy are gone,
held and recent ones stay, the trail still verifies (chain, checkpoints, Merkle tree,
proofs), the archive verifies offline on its own, and the run is in ``system``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.retention_trail import NOW_US, event_at, ingest, mixed_trail, set_policies, trail
from trailbook.errors import Conflict
from trailbook.integrity.export_check import check_export, read_manifest
from trailbook.integrity.merkle import verify_inclusion
from trailbook.integrity.merkle_store import leaf_of
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.service.integrity import verify_store
from trailbook.store.records import Tenant


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_run_purges_what_policies_let_go_and_keeps_the_rest(tb: Trailbook,
                                                              tenant: Tenant) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)
    tb.retention_rules.create_hold(None, tenant, "Miner 7 dispute", "target:m-7",
                                   "insurance claim", CLI)
    before = verify_store(tb.store, tb.signer, tenant)
    assert before.ok

    report = tb.retention.run(tenant, now=NOW_US)

    assert report.error is None
    # device 400 days old: 100 (past 365); access 100 days old: 100 (past the 30 default)
    assert report.purged == 200
    assert report.by_category == {"device": 100, "access": 100}
    assert report.held == 6 and report.held_by == {"Miner 7 dispute": 6}
    remaining = trail(tb, tenant)
    kept = {e["metadata"]["n"] for e in remaining if e["category"] != "admin"  # type: ignore[index]
            and e["category"] != "system"}
    assert kept == {n for n in range(300) if n % 3 == 2} | set(range(300, 306))
    assert {e["category"] for e in remaining if e["action"] == "system.retention.run"} == {
        "system"}
    run_event = next(e for e in remaining if e["action"] == "system.retention.run")
    assert run_event["metadata"]["purged"] == 200  # type: ignore[index]
    assert run_event["severity"] == "notice"

    after = verify_store(tb.store, tb.signer, tenant)
    assert after.ok, after.problems
    assert after.events_purged == 200 and after.purges_checked == len(report.purges) == 1
    # the search index forgot them too
    page = tb.events.search(tenant, EventFilter(categories=("access",)), None, 500)
    assert page.events == []
    # a kept event still proves its place in the tree a checkpoint signed
    newest = tb.store.latest_checkpoint(tenant.id)
    assert newest is not None
    event = tb.events.search(tenant, EventFilter(categories=("device",)), None, 1).events[0]
    proof = tb.store.merkle.inclusion(tenant.id, event.seq - 1, newest.seq)
    assert newest.tree_root is not None
    assert verify_inclusion(leaf_of(bytes(event.doc)), event.seq - 1, newest.seq, proof,
                            bytes(newest.tree_root))


def test_the_archive_verifies_offline_and_holds_exactly_the_purged_events(
        tb: Trailbook, tenant: Tenant) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)
    report = tb.retention.run(tenant, now=NOW_US)
    [purge] = report.purges
    folder = tb.settings.resolved_retention_archive_dir / tenant.name
    archive = folder / purge.archive
    manifest = read_manifest((folder / (purge.archive + ".manifest.json")).read_bytes())
    result = check_export(archive, manifest, tb.signer.verification_keys())
    assert result.ok, result.problems
    assert result.rows_found == 206  # no hold here: the 500-day-old ones go too
    import gzip
    lines = gzip.decompress(archive.read_bytes()).splitlines()
    seqs = [json.loads(line)["seq"] for line in lines]
    assert seqs == sorted(seqs) and len(seqs) == 206
    assert manifest["manifest"]["kind"] == "retention-archive"

    # a changed line in the archive is caught
    damaged = folder / "damaged.ndjson.gz"
    docs = [json.loads(line) for line in lines]
    docs[5]["description"] = "rewritten"
    damaged.write_bytes(gzip.compress(b"\n".join(json.dumps(d).encode() for d in docs)))
    changed = check_export(damaged, manifest, tb.signer.verification_keys())
    assert not changed.ok


def test_a_second_run_purges_what_became_due_and_verify_still_holds(
        tb: Trailbook, tenant: Tenant) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)
    hold = tb.retention_rules.create_hold(None, tenant, "Miner 7", "target:m-7",
                                          "dispute", CLI)
    first = tb.retention.run(tenant, now=NOW_US)
    assert first.held == 6
    tb.retention_rules.release_hold(None, tenant, hold.id, "dispute settled", CLI)
    second = tb.retention.run(tenant, now=NOW_US)
    assert second.purged == 6 and second.held == 0
    report = verify_store(tb.store, tb.signer, tenant)
    assert report.ok, report.problems
    assert report.events_purged == 206 and report.purges_checked == 2
    # the chain's recorded start: the seq before the first kept event (seqs 1 and 2,
    # device 400 days and access 100 days old, went; seq 3, 10 days old, stays)
    [latest, earliest] = tb.store.purges.records(tenant.id)
    assert (earliest.start_seq, latest.start_seq) == (2, 2)
    assert earliest.start_hash == latest.start_hash != bytes(32)


def test_tampering_with_what_a_purge_kept_is_caught(tb: Trailbook, tenant: Tenant) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)
    tb.retention.run(tenant, now=NOW_US)
    [purge] = tb.store.purges.records(tenant.id)
    # A forged record: the purge's signature no longer covers it.
    tb.store.purges._run.write("UPDATE purges SET events = events - 1 WHERE id = ?",
                               (purge.id,))
    report = verify_store(tb.store, tb.signer, tenant)
    assert not report.ok
    assert any("signature of purge" in p.detail for p in report.problems)


def test_events_after_the_newest_checkpoint_wait_for_the_next_run(tb: Trailbook,
                                                                  tenant: Tenant) -> None:
    ingest(tb, tenant, [event_at("device", 400, n) for n in range(30)])  # no checkpoint yet
    tb.retention_rules.set_policy(None, tenant, "device", 365, CLI)
    report = tb.retention.run(tenant, now=NOW_US)
    assert report.purged == 0 and report.awaiting_checkpoint == 30
    tb.checkpoints.checkpoint_pending()
    assert tb.retention.run(tenant, now=NOW_US).purged == 30
    assert verify_store(tb.store, tb.signer, tenant).ok


def test_no_policy_means_forever(tb: Trailbook, tenant: Tenant) -> None:
    mixed_trail(tb, tenant)
    report = tb.retention.run(tenant, now=NOW_US)
    assert report.purged == 0 and report.purges == []
    assert len(trail(tb, tenant)) == 306


def test_two_runs_of_one_tenant_take_turns(tb: Trailbook, tenant: Tenant) -> None:
    assert tb.store.alerts.acquire_lease(f"retention:{tenant.id}", "someone-else",
                                         NOW_US * 0 + 10**18, 10**9)
    with pytest.raises(Conflict):
        tb.retention.run(tenant, now=NOW_US)


def test_purged_events_cannot_be_deleted_or_changed_outside_retention(
        tb: Trailbook, tenant: Tenant, backend: str) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)
    tb.retention.run(tenant, now=NOW_US)
    with pytest.raises(Exception, match="append-only"):
        tb.store.purges._run.write("DELETE FROM purged_events WHERE tenant_id = ?",
                                   (tenant.id,))
    with pytest.raises(Exception, match="append-only"):
        tb.store.purges._run.write("DELETE FROM events WHERE tenant_id = ?", (tenant.id,))
    assert Path(tb.settings.resolved_retention_archive_dir).is_dir()
