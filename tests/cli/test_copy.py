"""`trailbook copy` between SQLite and PostgreSQL: every tenant, event, checkpoint,
API key, staff user, annotation and saved search goes across, the chain keeps its seqs and hashes,
the copy verifies; a source that was altered, or a target that is not empty, stops it
with a clear message."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import msgspec
import orjson
import psycopg
import pytest
import uuid_utils

from trailbook.model.event import EventIn
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings
from trailbook.store.records import Annotation


@pytest.fixture
def backend() -> str:
    return "postgres"


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRAILBOOK_DATABASE_URL"}
    env["TRAILBOOK_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def build_source(data_dir: Path) -> dict[str, list[tuple[int, bytes, bytes]]]:
    """A SQLite trail of two tenants; returns (seq, doc, hash) of each."""
    tb = Trailbook.open(load_settings(data_dir=data_dir, checkpoint_every_events=500))
    try:
        acme = tb.tenants.create("acme")
        acme = tb.tenants.add_category(acme, "billing")
        tb.keys.create(acme, "ingest key", ("ingest",))
        tb.roles.create(acme, "billing-clerk", ["events.read"], ["billing"], by=None,
                        context=CLI)
        tb.users.add(acme, "clerk@isp.example", "Clerk", "billing-clerk",
                     "clerk-password-123", by=None, context=CLI)
        other = tb.tenants.create("other")
        raw = [{"action": "client.bill.update", "category": "billing" if i % 2 else "client",
                "actor": {"id": f"u-{i % 5}", "email": f"u{i % 5}@isp.example"},
                "source": {"ip": f"10.0.{i % 4}.{i % 200}"},
                "idempotency_key": f"bill-{i}" if i % 3 == 0 else None,
                "metadata": {"amount": i * 1.25, "note": f"invoice {i}"},
                "description": f"Bill {i} changed"} for i in range(1200)]
        for start in range(0, 1200, 400):
            tb.events.ingest(acme, msgspec.convert(raw[start:start + 400], list[EventIn]))
        tb.events.ingest(other, msgspec.convert([dict(r, category="client") for r in raw[:7]],
                                              list[EventIn]))
        chains = {t.name: [(r.seq, r.doc, r.hash) for r in tb.store.iter_chain(t.id)]
                  for t in (acme, other)}
        # Annotations, made in the store (as setup: no audit events to count): the
        # clerk tagged seq 12 and 14 "vip" and commented on 12.
        clerk = tb.users.by_email(acme, "clerk@isp.example")
        for row in tb.store.iter_chain(acme.id):
            for seq, kind, body in ((12, "tag", "vip"), (14, "tag", "vip"),
                                    (12, "comment", "Checked with the client.")):
                if row.seq == seq:
                    tb.store.annotations.add(Annotation(
                        str(uuid_utils.uuid7()), acme.id, row.pos,
                        str(uuid.UUID(bytes=row.id_bytes)), kind, body, clerk.id,
                        clerk.email, clerk.name, "2026-06-01T10:00:00.000000Z"))
        tb.store.saved_searches.add(acme.id, clerk.id, "VIP bills", "tag:vip",
                                    {"category": ["billing"]},
                                    "2026-06-01T10:00:00.000000Z", 200)
    finally:
        tb.close()
    return chains


def test_copy_sqlite_to_postgres_and_back(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    chains = build_source(data)
    copied = cli(data, "copy", "--from", str(data / "trailbook.db"), "--to", database_url)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    # 1,200 events, after the audit of the category, the key, the role and the user.
    assert "1,204" in copied.stdout and "whole" in copied.stdout

    verified = cli(data, "--database", database_url, "verify", "--all")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "acme: 1,204 events" in " ".join(verified.stdout.split())

    tb = Trailbook.open(load_settings(data_dir=data, database_url=database_url))
    try:
        acme = tb.tenants.get("acme")
        assert "billing" in tb.tenants.categories(acme)
        assert [k.name for k in tb.keys.for_tenant(acme)] == ["ingest key"]
        for name, chain in chains.items():
            tenant = tb.tenants.get(name)
            assert [(r.seq, r.doc, r.hash) for r in tb.store.iter_chain(tenant.id)] == chain
        # Searchable in the target, with its own tenant ids in the index.
        found = tb.events.search(acme, EventFilter(text="invoice 7", categories=("billing",)))
        assert [e.seq for e in found.events] == [12]
        # Staff users and custom roles came along: the clerk signs in on the target and
        # reads billing events only.
        token, _ = tb.sessions.login("clerk@isp.example", "clerk-password-123", CLI)
        clerk = tb.sessions.authenticate(token)
        assert clerk.categories == ("billing",)
        # Checkpoints came along and still check out.
        assert [c.seq for c in tb.integrity.checkpoints(acme)][-1] == 1204
        # Annotations came along, pointing at the same events, by the clerk's new id.
        assert_annotations(tb)
        assert_saved_searches(tb)
    finally:
        tb.close()

    back = tmp_path / "back"
    returned = cli(data, "copy", "--from", database_url, "--to", str(back / "trailbook.db"))
    assert returned.returncode == 0, returned.stdout + returned.stderr
    again = cli(back, "verify", "--all")
    assert again.returncode == 0, again.stdout + again.stderr
    with Trailbook.open(load_settings(data_dir=back)) as returned_tb:
        assert_annotations(returned_tb)
        assert_saved_searches(returned_tb)


def assert_annotations(tb: Trailbook) -> None:
    acme = tb.tenants.get("acme")
    clerk = tb.users.by_email(acme, "clerk@isp.example")
    found = tb.store.annotations.for_tenant(acme.id)
    assert sorted((a.kind, a.body) for a in found) == [
        ("comment", "Checked with the client."), ("tag", "vip"), ("tag", "vip")]
    assert {(a.author_user_id, a.author_email, a.created_at) for a in found} == {
        (clerk.id, "clerk@isp.example", "2026-06-01T10:00:00.000000Z")}
    tagged = tb.events.search(acme, EventFilter(tags=("vip",))).events
    assert [e.seq for e in tagged] == [14, 12]
    assert {a.event_pos for a in found} == {e.pos for e in tagged}
    assert {a.event_id for a in found} == {orjson.loads(e.doc)["id"] for e in tagged}


def assert_saved_searches(tb: Trailbook) -> None:
    """The clerk's saved search came along, under the clerk's new id."""
    acme = tb.tenants.get("acme")
    clerk = tb.users.by_email(acme, "clerk@isp.example")
    [saved] = tb.store.saved_searches.for_tenant(acme.id)
    assert (saved.user_id, saved.name, saved.query, saved.params, saved.created_at) == (
        clerk.id, "VIP bills", "tag:vip", {"category": ["billing"]},
        "2026-06-01T10:00:00.000000Z")


def test_copy_into_a_database_holding_the_tenants_is_refused(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    build_source(data)
    first = cli(data, "copy", "--from", str(data / "trailbook.db"), "--to", database_url)
    assert first.returncode == 0, first.stderr
    second = cli(data, "copy", "--from", str(data / "trailbook.db"), "--to", database_url)
    assert second.returncode == 1
    assert "already holds tenants" in second.stderr and "acme" in second.stderr
    verified = cli(data, "--database", database_url, "verify", "--all")
    assert verified.returncode == 0  # the first copy is untouched


def test_an_altered_source_stops_the_copy_at_the_bad_seq(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    build_source(data)
    conn = sqlite3.connect(data / "trailbook.db", isolation_level=None)
    try:
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET doc = replace(doc, 'Bill 41 changed', 'Bill 41 kept')"
                     " WHERE seq = 46 AND tenant_id = 1")
    finally:
        conn.close()
    copied = cli(data, "copy", "--from", str(data / "trailbook.db"), "--to", database_url)
    assert copied.returncode == 1
    assert "not whole at seq 46" in " ".join(copied.stderr.split())
    assert "Nothing was copied" in " ".join(copied.stderr.split())
    with psycopg.connect(database_url) as conn:  # the target was not even migrated into
        assert conn.execute("SELECT to_regclass('tenants')").fetchone() == (None,)


def test_copy_to_the_same_database_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_source(data)
    same = cli(data, "copy", "--from", str(data / "trailbook.db"),
               "--to", str(data / "trailbook.db"))
    assert same.returncode == 1
    assert "same database" in same.stderr
