"""Safeguards around the signing key, the checkpoint signer and the data files."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
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


def forge_description(data: Path, seqs: range) -> None:
    """What an attacker with the file can do: rewrite events and re-chain them, the
    chain head included, so that the stored chain is consistent again."""
    conn = sqlite3.connect(data / "trailbook.db", isolation_level=None)
    conn.execute("DROP TRIGGER events_append_only_update")
    previous = conn.execute("SELECT hash FROM events WHERE seq = ?",
                            (seqs.start - 1,)).fetchone()[0]
    last = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
    for seq in range(seqs.start, last + 1):
        doc = orjson.loads(conn.execute("SELECT doc FROM events WHERE seq = ?",
                                        (seq,)).fetchone()[0])
        if seq in seqs:
            doc["description"] = "nothing to see"
        canonical = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        previous = link(previous, canonical)
        conn.execute("UPDATE events SET doc = ?, hash = ? WHERE seq = ?",
                     (canonical, previous, seq))
    conn.execute("UPDATE chain_heads SET hash = ?", (previous,))
    conn.close()


def test_a_forged_tail_is_caught_by_the_next_checkpoint(tmp_path: Path) -> None:
    """Events this process sealed, rewritten consistently before a checkpoint covers
    them: the checkpoint signs the hash the process sealed, not the forged one, so
    verify finds the rewrite. (Until a checkpoint covers them, such a rewrite is
    invisible to verify: that window is why the signer signs only its own hashes.)"""
    data = tmp_path / "data"
    with open_tb(data, checkpoint_every_events=1000) as tb:
        load(tb, 10)
    with open_tb(data, checkpoint_every_events=1000) as tb:
        load(tb, 5)
        tenant = tb.tenants.get("acme")
        assert [c.seq for c in tb.store.list_checkpoints(tenant.id)] == [10]
        forge_description(data, range(12, 16))
        [made] = tb.checkpoints.checkpoint_pending()
        assert made.seq == 15
        report = tb.integrity.verify(tenant)
        assert not report.ok
        assert report.problems[0].seq == 15
        assert report.problems[0].kind == "checkpoint_mismatch"


@contextmanager
def two_writers_after_a_checkpoint(data: Path) -> Iterator[Trailbook]:
    """A trail checkpointed at seq 10; then a second process on the same file seals
    seq 11-13 and the first (yielded) seals seq 14-15."""
    with open_tb(data, checkpoint_every_events=1000) as tb:
        load(tb, 10)
    with open_tb(data, checkpoint_every_events=1000) as first, \
            open_tb(data, checkpoint_every_events=1000) as second:
        load(second, 3)
        load(first, 2)
        yield first


def test_a_forged_stretch_sealed_by_another_process_is_not_signed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before signing, the stretch other writers sealed (here a second process on the
    same file) is re-linked from the last signed point; a rewrite there means no
    checkpoint, and a critical log line."""
    data = tmp_path / "data"
    with two_writers_after_a_checkpoint(data) as first:
        forge_description(data, range(12, 14))
        with caplog.at_level("CRITICAL", logger="trailbook.checkpoints"):
            assert first.checkpoints.checkpoint_pending() == []
        assert "not signing a checkpoint for tenant acme at seq 15" in caplog.text
        tenant = first.tenants.get("acme")
        assert [c.seq for c in first.store.list_checkpoints(tenant.id)] == [10]


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


def test_an_honest_stretch_sealed_by_another_process_is_signed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with two_writers_after_a_checkpoint(data) as first:
        [made] = first.checkpoints.checkpoint_pending()
        assert made.seq == 15
        tenant = first.tenants.get("acme")
        assert first.integrity.verify(tenant).ok
