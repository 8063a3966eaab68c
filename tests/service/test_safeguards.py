"""Safeguards around the signing key, the checkpoint signer and the data files."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import msgspec
import orjson
import pytest

from conftest import minimal_event
from trailbook.errors import StorageError
from trailbook.integrity.chain import link
from trailbook.model.event import EventIn
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def open_tb(data: Path, **overrides: object) -> Trailbook:
    return Trailbook.open(load_settings(data_dir=data, **overrides))


def load(tb: Trailbook, count: int, tenant: str = "acme") -> None:
    chosen, _ = tb.tenants.get_or_create(tenant)
    events = [minimal_event(description=f"event {n}") for n in range(count)]
    tb.events.ingest(chosen, msgspec.convert(events, list[EventIn]))


def test_a_lost_signing_key_is_not_replaced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_tb(data) as tb:
        load(tb, 5)  # closing signs a checkpoint
    key = data / "signing-key.pem"
    key.unlink()
    with pytest.raises(StorageError, match="restore the key"):
        open_tb(data)
    assert not key.exists()


def test_a_new_trail_gets_a_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_tb(data):
        pass
    assert (data / "signing-key.pem").exists()


def test_a_forged_tail_is_not_signed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Events changed after the last checkpoint, with their hashes and the chain head
    recomputed, must not be blessed by the next checkpoint. (Until a checkpoint covers
    them, such a consistent rewrite is invisible to verify: that window is why the
    signer refuses to sign what it did not seal itself.)"""
    data = tmp_path / "data"
    with open_tb(data, checkpoint_every_events=1000) as tb:
        load(tb, 10)
    with open_tb(data, checkpoint_every_events=1000) as tb:
        load(tb, 5)
        tenant = tb.tenants.get("acme")
        assert [c.seq for c in tb.store.list_checkpoints(tenant.id)] == [10]
        # The attacker rewrites seq 12..15 consistently, behind Trailbook's back.
        conn = sqlite3.connect(data / "trailbook.db", isolation_level=None)
        conn.execute("DROP TRIGGER events_append_only_update")
        previous = conn.execute("SELECT hash FROM events WHERE seq = 11").fetchone()[0]
        for seq in range(12, 16):
            doc = orjson.loads(conn.execute("SELECT doc FROM events WHERE seq = ?",
                                            (seq,)).fetchone()[0])
            doc["description"] = "nothing to see"
            canonical = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
            previous = link(previous, canonical)
            conn.execute("UPDATE events SET doc = ?, hash = ? WHERE seq = ?",
                         (canonical, previous, seq))
        conn.execute("UPDATE chain_heads SET hash = ?", (previous,))
        conn.close()
        with caplog.at_level("CRITICAL", logger="trailbook.checkpoints"):
            assert tb.checkpoints.checkpoint_pending() == []
        assert "not signing a checkpoint for tenant acme at seq 15" in caplog.text
        assert [c.seq for c in tb.store.list_checkpoints(tenant.id)] == [10]


def test_an_honest_tail_is_signed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_tb(data, checkpoint_every_events=1000) as tb:
        load(tb, 10)
        load(tb, 5)
        tenant = tb.tenants.get("acme")
        [made] = tb.checkpoints.checkpoint_pending()
        assert made.seq == 15
        assert tb.integrity.verify(tenant).ok


def test_data_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_tb(data) as tb:
        load(tb, 3)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("trailbook.db", "trailbook.db.lock", "signing-key.pem"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
