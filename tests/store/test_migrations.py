"""SQLite schema migrations: an older database is brought up to date with its data
intact (its full-text index made anew where a version asks for it); a newer one is
refused."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import msgspec
import pytest

from conftest import minimal_event
from service.retention_trail import NOW_US, mixed_trail, set_policies
from trailbook.errors import StorageError
from trailbook.model.event import EventIn
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
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


def fulltext_sql(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'events_fts'").fetchone()[0])


def test_version_11_makes_the_full_text_index_anew_from_the_stored_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(data_dir=tmp_path)
    events = msgspec.convert(list(demo_events(900, seed=5)), list[EventIn])
    sample = next(e for e in events[100:] if e.targets and e.source and e.source.ip
                  and e.description and e.actor.name and "." in e.source.ip)
    assert sample.source is not None and sample.source.ip and sample.description
    assert sample.actor.name and sample.targets[0].name
    network = sample.source.ip.rsplit(".", 1)[0] + ".0/24"
    filters = {
        "words": EventFilter(text=" ".join(sample.description.split()[:2])),
        "phrase": EventFilter(text=f'"{sample.targets[0].name}"'),
        "actor": EventFilter(actor=sample.actor.name.split()[0][:3]),
        "target": EventFilter(target=sample.targets[0].id),
        "network": EventFilter(ips=(ipaddress.ip_network(network),)),
        "category": EventFilter(categories=(sample.category,)),
    }
    version_10 = migrations.known_migrations()[:10]

    def found(tb: Trailbook, name: str = "acme") -> dict[str, list[int]]:
        tenant = tb.tenants.get(name)
        return {name: [e.seq for e in tb.events.search(tenant, flt, None, 500).events]
                for name, flt in filters.items()}

    with monkeypatch.context() as patch:
        patch.setattr(migrations, "known_migrations", lambda: version_10)
        with Trailbook.open(settings) as tb:
            acme = tb.tenants.create("acme")
            other = tb.tenants.create("other")
            for start in range(0, len(events), 300):
                tb.events.ingest(acme, events[start:start + 300])
                tb.events.ingest(other, events[start:start + 300])
            mixed_trail(tb, other)
            before, before_other = found(tb), found(tb, "other")
            assert tb.store.schema_version()[0] == 10
    assert all(before.values()), before
    assert "columnsize" not in fulltext_sql(tmp_path / "trailbook.db")

    with Trailbook.open(settings) as tb:
        assert tb.store.schema_version() == (migrations.LATEST, migrations.LATEST)
        assert found(tb) == before
        # The other tenant's events were indexed again under their own tenant.
        assert found(tb, "other") == before_other
        # A purge removes index entries by their terms, made again the same way.
        other = tb.tenants.get("other")
        set_policies(tb, other)
        # (device events 400 and 500 days old, access events 100 days old)
        assert tb.retention.run(other, now=NOW_US).purged == 206
        for action in ("access.thing", "device.thing"):
            left = tb.events.search(other, EventFilter(actions=(action,)), None, 500).events
            assert len(left) == (0 if action == "access.thing" else 100)
        assert found(tb) == before
    db = tmp_path / "trailbook.db"
    assert "columnsize = 0" in fulltext_sql(db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 0)")
        assert conn.execute("SELECT count(*) FROM sqlite_master"
                            " WHERE name = 'events_fts_docsize'").fetchone()[0] == 0
