"""The rows an append leaves in the SQLite file, read back with Python's own
``sqlite3``: blobs are blobs and an absent idempotency key is NULL, however the store
binds them (as bytearray and empty values, for speed)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import msgspec
import orjson

from conftest import minimal_event
from trailbook.integrity.chain import GENESIS
from trailbook.model.event import EventIn
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def test_appended_rows_hold_blobs_and_nulls_as_the_schema_means(tmp_path: Path) -> None:
    with Trailbook.open(load_settings(data_dir=tmp_path)) as tb:
        tenant = tb.tenants.create("acme")
        events = [minimal_event(), minimal_event(idempotency_key="order-7"), minimal_event()]
        stored = tb.events.ingest(tenant, msgspec.convert(events, list[EventIn]))
    with sqlite3.connect(tmp_path / "trailbook.db") as conn:
        rows = conn.execute(
            "SELECT seq, typeof(id), typeof(hash), typeof(doc), idem_key, idem_digest, id,"
            " hash, doc FROM events ORDER BY seq").fetchall()
        keyless = conn.execute(
            "SELECT count(*) FROM events WHERE idem_key IS NULL AND idem_digest IS NULL"
        ).fetchone()[0]
    assert [r[0] for r in rows] == [1, 2, 3]
    assert all(r[1:4] == ("blob", "blob", "blob") for r in rows)
    assert keyless == 2
    assert rows[1][4] == "order-7" and isinstance(rows[1][5], bytes) and len(rows[1][5]) == 32
    for row, answer in zip(rows, stored, strict=True):
        assert orjson.loads(row[8])["id"] == answer.id
        assert row[6].hex() == answer.id.replace("-", "")
        assert row[7] == answer.hash
    # the stored documents are the ones their hashes seal, from the genesis hash on
    previous = GENESIS
    for row in rows:
        previous = hashlib.sha256(previous + row[8]).digest()
        assert previous == row[7]


def test_a_batch_goes_in_whole_where_sqlite_binds_few_parameters(tmp_path: Path) -> None:
    """Rows go in as many per statement as SQLite's bound-parameter limit allows:
    builds with a low limit (999 before SQLite 3.32) take a large batch too."""
    with Trailbook.open(load_settings(data_dir=tmp_path)) as tb:
        tb.store._writer.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # type: ignore[attr-defined]
        tenant = tb.tenants.create("acme")
        events = [minimal_event(description=f"reboot number {n}") for n in range(1000)]
        stored = tb.events.ingest(tenant, msgspec.convert(events, list[EventIn]))
        assert [a.seq for a in stored] == list(range(1, 1001))
        found = tb.events.search(tenant, EventFilter(text="number 777"), None, 10).events
        assert [e.seq for e in found] == [778]
