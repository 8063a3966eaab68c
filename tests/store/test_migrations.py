"""SQLite schema migrations: an older database is brought up to date with its data
intact; a newer one is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

from conftest import minimal_event
from trailbook.errors import StorageError
from trailbook.model.event import EventIn
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings
from trailbook.store.sqlite import migrations


def indexes(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {r[0] for r in rows}


def test_a_version_1_database_is_migrated_with_its_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(data_dir=tmp_path)
    first = migrations.known_migrations()[:1]
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "known_migrations", lambda: first)
        with Trailbook.open(settings) as tb:
            # Today's code on yesterday's schema: leave out what reads newer tables
            # (signing checkpoints, which reads the Merkle tree).
            patch.setattr(tb.checkpoints, "after_append", lambda *_: None)
            patch.setattr(tb.checkpoints, "checkpoint_pending", lambda: [])
            tenant = tb.tenants.create("acme")
            events = [minimal_event(category="client", action="invoice.create"),
                      minimal_event(category="access")]
            tb.events.ingest(tenant, msgspec.convert(events, list[EventIn]))
            assert tb.store.schema_version()[0] == 1
    assert "events_tenant_category" in indexes(tmp_path / "trailbook.db")

    with Trailbook.open(settings) as tb:
        assert tb.store.schema_version() == (migrations.LATEST, migrations.LATEST)
        tenant = tb.tenants.get("acme")
        found = tb.events.search(tenant, EventFilter(categories=("client",))).events
        assert [e.seq for e in found] == [1]
        assert tb.integrity.verify(tenant).ok
        # Events stored before the Merkle tree are in it: a checkpoint signed now
        # carries the root over them, and verification recomputes it.
        checkpoint = tb.checkpoints.sign("acme", tb.store.chain_head(tenant.id))
        assert checkpoint is not None and checkpoint.tree_root is not None
        assert tb.integrity.verify(tenant).checkpoints_checked == 1
        assert tb.integrity.verify(tenant).ok
    assert not {"events_tenant_category", "events_tenant_action"} & indexes(
        tmp_path / "trailbook.db")


def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with Trailbook.open(settings):
        pass
    with sqlite3.connect(tmp_path / "trailbook.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from_the_future', 'x')",
                     (migrations.LATEST + 1,))
    with pytest.raises(StorageError, match="newer than this Trailbook knows"):
        Trailbook.open(settings)
