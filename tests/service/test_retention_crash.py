"""A retention run killed (SIGKILL, a real process) between writing its archive and
removing the events leaves the old state; killed after the removal committed but
before its event was written, the new one. Never a half state: the trail verifies in
both, and the next run completes what is left (removing the orphaned archive, or
recording the purge late)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.retention_trail import NOW_US, mixed_trail, set_policies, trail
from trailbook.integrity.export_check import check_export, read_manifest
from trailbook.service.app import Trailbook
from trailbook.service.integrity import verify_store
from trailbook.store.records import Tenant

DRIVER = Path(__file__).with_name("retention_crash_driver.py")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _killed_at(point: str, data_dir: Path, database_url: str | None, tmp_path: Path) -> None:
    marker = tmp_path / f"{point}.marker"
    process = subprocess.Popen([sys.executable, str(DRIVER), str(data_dir),
                                database_url or "-", str(NOW_US), point, str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, "the run ended before the point"
            assert time.monotonic() < deadline, "the run never reached the point"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        time.sleep(1.2)  # the killed run's lease (1 s in the driver) runs out
    finally:
        if process.poll() is None:
            process.kill()


def _archives(tb: Trailbook, tenant: Tenant) -> list[str]:
    folder = tb.settings.resolved_retention_archive_dir / tenant.name
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_killed_between_archive_and_delete_leaves_the_old_state(
        tb: Trailbook, tenant: Tenant, data_dir: Path, database_url: str | None,
        tmp_path: Path) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)
    before = trail(tb, tenant)

    _killed_at("before-purge", data_dir, database_url, tmp_path)

    assert trail(tb, tenant) == before  # nothing removed, nothing recorded
    assert tb.store.purges.records(tenant.id) == []
    assert verify_store(tb.store, tb.signer, tenant).ok
    orphans = _archives(tb, tenant)
    assert any(name.endswith(".ndjson.gz") for name in orphans)  # written, then killed

    report = tb.retention.run(tenant, now=NOW_US)  # the next run completes

    assert report.error is None and report.purged == 206
    assert report.archives_removed == [n for n in orphans if n.endswith(".ndjson.gz")]
    [purge] = report.purges
    assert _archives(tb, tenant) == sorted([purge.archive, purge.archive + ".manifest.json"])
    after = verify_store(tb.store, tb.signer, tenant)
    assert after.ok and after.events_purged == 206
    folder = tb.settings.resolved_retention_archive_dir / tenant.name
    manifest = read_manifest((folder / (purge.archive + ".manifest.json")).read_bytes())
    assert check_export(folder / purge.archive, manifest, tb.signer.verification_keys()).ok


def test_killed_after_the_delete_leaves_the_new_state_recorded_by_the_next_run(
        tb: Trailbook, tenant: Tenant, data_dir: Path, database_url: str | None,
        tmp_path: Path) -> None:
    mixed_trail(tb, tenant)
    set_policies(tb, tenant)

    _killed_at("before-record", data_dir, database_url, tmp_path)

    [purge] = tb.store.purges.records(tenant.id)  # committed whole
    assert purge.events == 206 and purge.recorded_seq is None
    assert len(trail(tb, tenant)) == 306 - 206 + 3  # 3 policy changes in admin
    assert verify_store(tb.store, tb.signer, tenant).ok

    report = tb.retention.run(tenant, now=NOW_US)

    assert report.error is None and report.purged == 0
    assert report.recorded_late == [purge.id]
    [again] = tb.store.purges.records(tenant.id)
    assert again.recorded_seq == report.recorded_seq is not None
    events = [e for e in trail(tb, tenant) if e["action"] == "system.retention.run"]
    assert len(events) == 1
    assert events[0]["metadata"]["recorded_late"] == [purge.id]  # type: ignore[index]
    assert verify_store(tb.store, tb.signer, tenant).ok
