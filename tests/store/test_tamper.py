"""Tamper evidence, end to end, on both backends: a real SQLite file is changed behind
Trailbook's back (with Python's own ``sqlite3``, as an attacker with access to the file
would), or a real PostgreSQL database is changed by a superuser who switches the
append-only triggers off; then the real ``trailbook verify`` command must notice, name
the first bad seq and say why.

The last part tests ``verify_chain`` directly on hand-built rows."""

from __future__ import annotations

import inspect
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import orjson
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trailbook.integrity.canonical import canonical_json
from trailbook.integrity.chain import GENESIS, link
from trailbook.integrity.signing import checkpoint_payload, key_id_of
from trailbook.integrity.verify import (
    BAD_SIGNATURE,
    CHANGED,
    CHECKPOINT_MISMATCH,
    MISSING,
    REORDERED,
    verify_chain,
)
from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings
from trailbook.store.base import Store
from trailbook.store.postgres import purge as postgres_purge
from trailbook.store.postgres import store as postgres_store_module
from trailbook.store.records import ChainHead, ChainRow, Checkpoint
from trailbook.store.sqlite import purge as sqlite_purge
from trailbook.store.sqlite import store as sqlite_store_module
from trailbook.store.sqlite.store import SQLiteStore

TOTAL = 100
CHECKPOINT_EVERY = 20
# Uneven batches: checkpoints fall after the append that crosses each mark of 20,
# so not every checkpoint sits on a multiple of 20 (here: 20, 45, 75, 100).
BATCHES = (7, 13, 25, 30, 25)
FIRST_BAD = re.compile(r"first bad seq (\d+): (\w+)")


# -- building a real trail ----------------------------------------------------------


def _varied_event(i: int) -> dict[str, Any]:
    """Event ``i`` of a varied trail: different categories, actions, actors, targets,
    sources, changes and metadata (some with floats and non-ASCII keys, so both
    canonical-form paths are stored)."""
    kind = i % 5
    event: dict[str, Any]
    if kind == 0:
        event = {
            "action": "user.login",
            "category": "access",
            "actor": {"id": f"u-{i % 7}", "email": f"user{i % 7}@corp.example", "name": "Ann"},
            "source": {"ip": f"192.0.2.{i % 250 + 1}", "user_agent": "Mozilla/5.0",
                       "country": "de"},
            "session_id": f"s-{i}",
        }
    elif kind == 1:
        event = {
            "action": "miner.reboot",
            "category": "device",
            "actor": {"id": "cron", "type": "system"},
            "targets": [{"id": f"m-{i}", "type": "miner", "name": f"rack 3 / slot {i}"}],
            "severity": "notice",
            "metadata": {"temperature": 71.5 + i / 10, "firmware": "2.1.0"},
        }
    elif kind == 2:
        event = {
            "action": "client.bill.update",
            "category": "client",
            "actor": {"id": f"u-{i % 3}", "name": "Jürgen Weiß"},
            "targets": [{"id": f"c-{i}", "type": "client"}],
            "changes": [{"field": "amount", "old": i * 100, "new": i * 100 + 5},
                        {"field": "note", "old": None, "new": "réduction été"}],
            "description": f"bill {i} corrected",
            "request_id": f"req-{i}",
        }
    elif kind == 3:
        event = {
            "action": "cluster.scale",
            "category": "task",
            "actor": {"id": "k-1", "type": "api_key"},
            "targets": [{"id": "cl-9", "type": "cluster"}],
            "result": "failure",
            "reason": "quota exceeded",
            "severity": "warning",
            "source": {"ip": "2001:db8::1"},
            "metadata": {"größe": 3, "nodes": [3, 5], "ok": False},
        }
    else:
        event = {
            "action": "admin.role.grant",
            "category": "admin",
            "actor": {"id": "root", "email": "root@corp.example"},
            "targets": [{"id": f"u-{i % 7}", "type": "user"}],
            "scope": "org:1",
            "idempotency_key": f"grant-{i}",
            "description": "给予权限 ✓",
        }
    event["occurred_at"] = format_us(1_767_225_600_000_000 + i * 37_000_000 + i)
    return event


@dataclass(frozen=True)
class Trail:
    data_dir: Path
    database_url: str | None  # None: the SQLite file in data_dir

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "TRAILBOOK_DATA_DIR": str(self.data_dir)}
        if self.database_url:
            env["TRAILBOOK_DATABASE_URL"] = self.database_url
        return env

    def __truediv__(self, name: str) -> Path:
        return self.data_dir / name


def build_trail(data_dir: Path, database_url: str | None) -> None:
    tb = Trailbook.open(load_settings(data_dir=data_dir, database_url=database_url,
                                      checkpoint_every_events=CHECKPOINT_EVERY))
    try:
        tenant = tb.tenants.create("acme")
        start = 0
        for size in BATCHES:
            raw = [_varied_event(i) for i in range(start, start + size)]
            tb.events.ingest(tenant, msgspec.convert(raw, list[EventIn]))
            start += size
        assert start == TOTAL
    finally:
        tb.close()  # signs a checkpoint at the head


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def trail(tmp_path: Path, database_url: str | None) -> Trail:
    data_dir = tmp_path / "data"
    build_trail(data_dir, database_url)
    return Trail(data_dir, database_url)


def run_verify(trail: Trail, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailbook", "verify", "--tenant", "acme", *extra],
        env=trail.env, capture_output=True, text=True, timeout=120,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr with whitespace runs (and any line wrapping) made one space."""
    return " ".join((result.stdout + "\n" + result.stderr).split())


def first_bad(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    match = FIRST_BAD.search(output(result))
    assert match, output(result)
    return int(match.group(1)), match.group(2)


class Raw:
    """A raw connection to either backend, with ``?`` placeholders and ``doc`` as bytes
    (PostgreSQL keeps it as text)."""

    def __init__(self, trail: Trail) -> None:
        self.postgres = trail.database_url is not None
        self.conn: Any
        if trail.database_url:
            self.conn = psycopg.connect(trail.database_url, autocommit=True)
        else:
            self.conn = sqlite3.connect(trail / "trailbook.db", isolation_level=None)

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        if self.postgres:
            return self.conn.execute(sql.replace("?", "%s"), params)
        return self.conn.execute(sql, params)

    def doc_value(self, doc: bytes) -> object:
        return doc.decode() if self.postgres else doc

    def close(self) -> None:
        self.conn.close()


@contextmanager
def attacker(trail: Trail) -> Iterator[Raw]:
    """A raw connection with the append-only triggers out of the way: dropped from the
    SQLite file; on PostgreSQL switched off for the session, as a superuser can."""
    raw = Raw(trail)
    try:
        if raw.postgres:
            raw.execute("SET session_replication_role = replica")
        else:
            raw.execute("DROP TRIGGER events_append_only_update")
            raw.execute("DROP TRIGGER events_append_only_delete")
        yield raw
    finally:
        raw.close()


def tenant_id(conn: Raw) -> int:
    return int(conn.execute("SELECT id FROM tenants WHERE name = 'acme'").fetchone()[0])


def row(conn: Raw, seq: int) -> tuple[bytes, bytes]:
    doc, hash_ = conn.execute(
        "SELECT doc, hash FROM events WHERE tenant_id = ? AND seq = ?", (tenant_id(conn), seq)
    ).fetchone()
    return (doc.encode() if isinstance(doc, str) else bytes(doc)), bytes(hash_)


def rewritten(doc: bytes, **fields: Any) -> bytes:
    value = orjson.loads(doc)
    assert any(value.get(k) != v for k, v in fields.items()), "the rewrite must change something"
    value.update(fields)
    return canonical_json(value)


def set_row(conn: Raw, at_seq: int, **columns: object) -> None:
    if isinstance(columns.get("doc"), bytes):
        columns["doc"] = conn.doc_value(columns["doc"])  # type: ignore[arg-type]
    assignments = ", ".join(f"{name} = ?" for name in columns)
    cur = conn.execute(
        f"UPDATE events SET {assignments} WHERE tenant_id = ? AND seq = ?",
        (*columns.values(), tenant_id(conn), at_seq),
    )
    assert cur.rowcount == 1


def checkpoint_seqs(conn: Raw) -> list[int]:
    return [r[0] for r in conn.execute("SELECT seq FROM checkpoints ORDER BY seq")]


# -- the trail as built -------------------------------------------------------------


def test_untouched_trail_verifies(trail: Trail) -> None:
    with attacker(trail) as conn:  # dropping the triggers alone changes no data
        assert checkpoint_seqs(conn) == [20, 45, 75, 100]
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == TOTAL
    result = run_verify(trail)
    assert result.returncode == 0, output(result)
    assert "OK" in result.stdout
    assert "100 events" in output(result)
    assert "4 signed checkpoint(s) valid" in output(result)

    as_json = run_verify(trail, "--json")
    assert as_json.returncode == 0
    [report] = orjson.loads(as_json.stdout)
    assert report["ok"] is True
    assert report["first_problem"] is None
    assert report["events_checked"] == TOTAL
    assert report["checkpoints_checked"] == 4


# -- one event changed ----------------------------------------------------------------


def test_changed_doc_is_named(trail: Trail) -> None:
    with attacker(trail) as conn:
        doc, _ = row(conn, 37)
        set_row(conn, 37, doc=rewritten(doc, description="nothing happened here"))
    result = run_verify(trail)
    assert result.returncode == 1
    assert "seq 37" in output(result)
    assert "changed" in output(result)
    assert first_bad(result) == (37, CHANGED)


def test_changed_action_in_doc_is_named(trail: Trail) -> None:
    with attacker(trail) as conn:
        doc, _ = row(conn, 38)
        set_row(conn, 38, doc=rewritten(doc, action="user.logout"))
    result = run_verify(trail)
    assert result.returncode == 1
    assert first_bad(result) == (38, CHANGED)


def test_changed_indexed_action_column_only(trail: Trail) -> None:
    # The doc (and so the hash) is intact; only the column that search uses is changed,
    # so a search for the real action would no longer find the event.
    with attacker(trail) as conn:
        set_row(conn, 12, action="user.logout")
    result = run_verify(trail)
    assert result.returncode == 1
    assert "seq 12" in output(result)
    assert first_bad(result) == (12, CHANGED)
    assert "action" in output(result)


def test_changed_doc_with_recomputed_hash(trail: Trail) -> None:
    # The attacker rewrites seq 15 and recomputes its stored hash, so the row is
    # consistent with the row before it. What that achieved: nothing hidden. The next
    # row (16) no longer links to it, and the signed checkpoint covering 15 no longer
    # matches the chain recomputed from genesis. To hide the change the attacker would
    # have to rewrite every later hash too (next test), which the signatures catch.
    with attacker(trail) as conn:
        doc, _ = row(conn, 15)
        _, prev = row(conn, 14)
        new_doc = rewritten(doc, description="rewritten by an attacker")
        set_row(conn, 15, doc=new_doc, hash=link(prev, new_doc))
        covering = min(s for s in checkpoint_seqs(conn) if s >= 15)
    result = run_verify(trail)
    assert result.returncode == 1
    seq, kind = first_bad(result)
    assert seq <= covering == 20
    assert (seq, kind) in {(16, CHANGED), (covering, CHECKPOINT_MISMATCH)}

    [report] = orjson.loads(run_verify(trail, "--json").stdout)
    kinds = {(p["seq"], p["kind"]) for p in report["problems"]}
    assert (covering, CHECKPOINT_MISMATCH) in kinds
    assert not any(p["seq"] < 15 for p in report["problems"])


def test_consistent_rewrite_caught_only_by_signed_checkpoints(trail: Trail) -> None:
    # Rewrite seq 10 and recompute every later hash and the chain head: every row links
    # to the one before it, so only the signed checkpoints can tell.
    with attacker(trail) as conn:
        _, prev = row(conn, 9)
        for seq in range(10, TOTAL + 1):
            doc, _ = row(conn, seq)
            if seq == 10:
                doc = rewritten(doc, description="history, revised")
            prev = link(prev, doc)
            set_row(conn, seq, doc=doc, hash=prev)
        conn.execute("UPDATE chain_heads SET hash = ? WHERE tenant_id = ?",
                     (prev, tenant_id(conn)))
        signed = checkpoint_seqs(conn)
    first_checkpoint = min(s for s in signed if s >= 10)

    result = run_verify(trail)
    assert result.returncode == 1
    assert first_bad(result) == (first_checkpoint, CHECKPOINT_MISMATCH)

    [report] = orjson.loads(run_verify(trail, "--json").stdout)
    assert report["ok"] is False
    assert {p["kind"] for p in report["problems"]} == {CHECKPOINT_MISMATCH}
    assert [p["seq"] for p in report["problems"]] == [s for s in signed if s >= 10]


# -- events removed -----------------------------------------------------------------


def test_deleted_event_is_missing(trail: Trail) -> None:
    with attacker(trail) as conn:
        conn.execute("DELETE FROM events WHERE tenant_id = ? AND seq = 50", (tenant_id(conn),))
    result = run_verify(trail)
    assert result.returncode == 1
    assert "seq 50" in output(result)
    assert "missing" in output(result)
    assert first_bad(result) == (50, MISSING)


def test_truncated_tail_is_missing(trail: Trail) -> None:
    with attacker(trail) as conn:
        conn.execute("DELETE FROM events WHERE tenant_id = ? AND seq > 97", (tenant_id(conn),))
        assert conn.execute("SELECT seq FROM chain_heads").fetchone()[0] == TOTAL
    result = run_verify(trail)
    assert result.returncode == 1
    assert "seq 98" in output(result)
    assert "missing" in output(result)
    assert first_bad(result) == (98, MISSING)


def test_truncated_tail_with_head_rewound_is_caught_by_checkpoint(trail: Trail) -> None:
    # A more careful attacker also moves the chain head back to seq 97.
    with attacker(trail) as conn:
        conn.execute("DELETE FROM events WHERE tenant_id = ? AND seq > 97", (tenant_id(conn),))
        _, head_hash = row(conn, 97)
        conn.execute("UPDATE chain_heads SET seq = 97, hash = ? WHERE tenant_id = ?",
                     (head_hash, tenant_id(conn)))
    result = run_verify(trail)
    assert result.returncode == 1
    assert first_bad(result) == (100, MISSING)


def test_chain_head_moved_back_is_reported(trail: Trail) -> None:
    # Every event is intact, but the head says the chain ends at 97: the next append
    # seals seq 98 again and fails on the unique (tenant_id, seq) index.
    with attacker(trail) as conn:
        _, head_hash = row(conn, 97)
        conn.execute("UPDATE chain_heads SET seq = 97, hash = ? WHERE tenant_id = ?",
                     (head_hash, tenant_id(conn)))
    result = run_verify(trail)
    assert result.returncode == 1, output(result)
    assert first_bad(result) == (98, CHANGED)
    # Appending on top of the moved head is refused with a clear error, not a crash.
    event = trail / "one.ndjson"
    event.write_text('{"action": "user.login", "actor": {"id": "u-1"}}\n')
    appended = subprocess.run(
        [sys.executable, "-m", "trailbook", "ingest", "--tenant", "acme", str(event)],
        env=trail.env, capture_output=True, text=True,
    )
    assert appended.returncode == 1
    assert "chain head is behind" in appended.stderr
    assert "Traceback" not in appended.stderr


# -- events reordered ---------------------------------------------------------------


def test_swapped_contents_are_reordered(trail: Trail) -> None:
    with attacker(trail) as conn:
        doc60, hash60 = row(conn, 60)
        doc61, hash61 = row(conn, 61)
        set_row(conn, 60, doc=doc61, hash=hash61)
        set_row(conn, 61, doc=doc60, hash=hash60)
    result = run_verify(trail)
    assert result.returncode == 1
    assert "seq 60" in output(result)
    assert "reordered" in output(result)
    assert first_bad(result) == (60, REORDERED)


def test_swapped_seq_values_are_reordered(trail: Trail) -> None:
    with attacker(trail) as conn:
        set_row(conn, 60, seq=-1)  # (tenant_id, seq) is unique
        set_row(conn, 61, seq=60)
        set_row(conn, -1, seq=61)
    result = run_verify(trail)
    assert result.returncode == 1
    assert "seq 60" in output(result)
    assert "reordered" in output(result)
    assert first_bad(result) == (60, REORDERED)


# -- checkpoints changed ------------------------------------------------------------


def test_flipped_checkpoint_signature(trail: Trail) -> None:
    with attacker(trail) as conn:
        seq, signature = conn.execute(
            "SELECT seq, signature FROM checkpoints ORDER BY seq LIMIT 1 OFFSET 1"
        ).fetchone()
        broken = bytearray(signature)
        broken[5] ^= 0x01
        conn.execute("UPDATE checkpoints SET signature = ? WHERE seq = ?", (bytes(broken), seq))
    assert seq == 45
    result = run_verify(trail)
    assert result.returncode == 1
    assert "bad_signature" in output(result)
    assert first_bad(result) == (seq, BAD_SIGNATURE)


def test_changed_checkpoint_hash(trail: Trail) -> None:
    with attacker(trail) as conn:
        seq, hash_ = conn.execute("SELECT seq, hash FROM checkpoints ORDER BY seq").fetchone()
        forged = bytes([hash_[0] ^ 0xFF]) + bytes(hash_[1:])
        conn.execute("UPDATE checkpoints SET hash = ? WHERE seq = ?", (forged, seq))
    result = run_verify(trail)
    assert result.returncode == 1
    assert first_bad(result) == (seq, BAD_SIGNATURE)


def test_json_report_names_first_problem(trail: Trail) -> None:
    with attacker(trail) as conn:
        doc, _ = row(conn, 37)
        set_row(conn, 37, doc=rewritten(doc, description="quietly edited"))
    result = run_verify(trail, "--json")
    assert result.returncode == 1
    reports = orjson.loads(result.stdout)
    assert isinstance(reports, list)
    [report] = reports
    assert report["tenant"] == "acme"
    assert report["ok"] is False
    first = report["first_problem"]
    assert set(first) == {"seq", "kind", "detail"}
    assert first["seq"] == 37
    assert first["kind"] == CHANGED
    assert isinstance(first["detail"], str) and first["detail"]


# -- the store refuses on its own -----------------------------------------------------


def test_triggers_refuse_update_and_delete(trail: Trail) -> None:
    conn = Raw(trail)  # triggers in place, even for a superuser
    refused = (sqlite3.DatabaseError, psycopg.Error)
    try:
        with pytest.raises(refused, match="append-only"):
            conn.execute("UPDATE events SET action = 'x'")
        with pytest.raises(refused, match="append-only"):
            conn.execute("DELETE FROM events")
        if conn.postgres:
            with pytest.raises(refused, match="append-only"):
                conn.execute("TRUNCATE events")
            partitions = [r[0] for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'events'::regclass")]
            assert "events_default" in partitions and len(partitions) == 6
            for partition in partitions:
                with pytest.raises(refused, match="append-only"):
                    conn.execute(f"TRUNCATE {partition}")
            with pytest.raises(refused, match="append-only"):
                conn.execute("DELETE FROM idempotency_keys")
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == TOTAL
        assert conn.execute("SELECT count(*) FROM events WHERE action = 'x'").fetchone()[0] == 0
    finally:
        conn.close()
    assert run_verify(trail).returncode == 0


_REWRITING_VERBS = re.compile(
    r"update|delete|remove|purge|truncate|rewrite|replace|edit|modify|drop|erase|clear"
)


# The one way events leave a store: retention's purge (which takes a signed purge
# record, filed in the same transaction), its scan, and the record of purges.
RETENTION = ["purge", "purge_scan", "purges"]


def test_store_interface_offers_no_way_to_change_events() -> None:
    names = [n for n, _ in inspect.getmembers(Store) if not n.startswith("_")]
    assert "append" in names  # the way in
    assert set(n for n in names if _REWRITING_VERBS.search(n)) <= set(RETENTION)
    setters = [n for n in names if n.startswith("set_")]
    assert setters == ["set_tenant_categories"]
    # The SQLite backend offers nothing beyond the protocol that would, and its SQL
    # never updates events, nor deletes them outside the purge modules.
    backend = [n for n, _ in inspect.getmembers(SQLiteStore) if not n.startswith("_")]
    assert set(n for n in backend if _REWRITING_VERBS.search(n)) <= set(RETENTION)
    for module in (sqlite_store_module, postgres_store_module):
        source = inspect.getsource(module)
        assert not re.search(r"UPDATE\s+events|DELETE\s+FROM\s+events", source, re.I)
    for module in (sqlite_purge, postgres_purge):
        source = inspect.getsource(module)
        assert not re.search(r"UPDATE\s+events", source, re.I)
        assert len(re.findall(r"DELETE\s+FROM\s+events\b", source, re.I)) == 1


# -- verify_chain on hand-built rows ----------------------------------------------------

T0_US = 1_767_225_600_000_000
KEY = Ed25519PrivateKey.generate()
KEY_ID = key_id_of(KEY.public_key())
KEYS = {KEY_ID: KEY.public_key()}


def make_rows(count: int, tenant: str = "acme") -> list[ChainRow]:
    rows = []
    prev = GENESIS
    for seq in range(1, count + 1):
        ident = f"0190f5e2-0000-7000-8000-{seq:012d}"
        occurred = T0_US + seq * 1_000_000
        doc = canonical_json({
            "id": ident, "tenant": tenant, "seq": seq, "occurred_at": format_us(occurred),
            "category": "general", "action": "user.login", "idempotency_key": None,
            "actor": {"id": f"u-{seq}"},
        })
        prev = link(prev, doc)
        uuid_bytes = bytes.fromhex(ident.replace("-", ""))
        rows.append(ChainRow(seq, (occurred << 10) | 3, uuid_bytes, "general", "user.login",
                             None, doc, prev))
    return rows


def head_of(rows: list[ChainRow]) -> ChainHead:
    return ChainHead(1, rows[-1].seq, rows[-1].hash)


def sign(seq: int, hash_: bytes, tenant: str = "acme",
         key: Ed25519PrivateKey = KEY) -> Checkpoint:
    key_id = key_id_of(key.public_key())
    created = format_us(T0_US + 10**9)
    signature = key.sign(checkpoint_payload(tenant, seq, hash_, created, key_id))
    return Checkpoint(1, seq, hash_, created, key_id, signature)


def problems(report: Any) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in sorted(report.problems, key=lambda p: p.seq)]


def test_verify_chain_clean() -> None:
    rows = make_rows(6)
    report = verify_chain("acme", rows, head_of(rows), [sign(3, rows[2].hash),
                                                        sign(6, rows[5].hash)], KEYS)
    assert report.ok, report.problems
    assert report.events_checked == 6
    assert report.last_seq == 6
    assert report.checkpoints_checked == 2
    assert report.last_checkpoint_seq == 6


def test_verify_chain_gap() -> None:
    rows = make_rows(6)
    report = verify_chain("acme", rows[:2] + rows[3:], head_of(rows), [sign(6, rows[5].hash)],
                          KEYS)
    assert problems(report) == [(3, MISSING)]
    assert "seq 3 missing" in report.problems[0].detail


def test_verify_chain_gap_of_several() -> None:
    rows = make_rows(8)
    report = verify_chain("acme", rows[:2] + rows[5:], head_of(rows), [], KEYS)
    assert problems(report) == [(3, MISSING)]
    assert "seqs 3-5" in report.problems[0].detail


def test_verify_chain_first_event_missing() -> None:
    rows = make_rows(4)
    report = verify_chain("acme", rows[1:], head_of(rows), [], KEYS)
    assert problems(report) == [(1, MISSING)]


def test_verify_chain_duplicate_seq() -> None:
    rows = make_rows(4)
    report = verify_chain("acme", [rows[0], rows[1], rows[1], rows[2], rows[3]], head_of(rows),
                          [sign(4, rows[3].hash)], KEYS)
    assert problems(report) == [(2, REORDERED)]
    assert "twice" in report.problems[0].detail


def test_verify_chain_tampered_doc() -> None:
    rows = make_rows(6)
    victim = rows[3]
    doc = orjson.loads(victim.doc)
    doc["actor"]["id"] = "someone-else"
    rows[3] = ChainRow(victim.seq, victim.pos, victim.id_bytes, victim.category, victim.action,
                       victim.idempotency_key, canonical_json(doc), victim.hash)
    report = verify_chain("acme", rows, head_of(rows), [sign(2, rows[1].hash),
                                                        sign(6, rows[5].hash)], KEYS)
    # The changed event is named alone; the checkpoint after it no longer matches.
    assert problems(report) == [(4, CHANGED), (6, CHECKPOINT_MISMATCH)]


def test_verify_chain_doc_from_another_tenant() -> None:
    # A row that links correctly but whose hashed record names another tenant.
    rows = make_rows(3)
    victim = rows[2]
    doc = orjson.loads(victim.doc)
    doc["tenant"] = "globex"
    moved = canonical_json(doc)
    rows[2] = ChainRow(victim.seq, victim.pos, victim.id_bytes, victim.category, victim.action,
                       victim.idempotency_key, moved, link(rows[1].hash, moved))
    report = verify_chain("acme", rows, head_of(rows), [], KEYS)
    assert problems(report) == [(3, CHANGED)]
    assert "tenant" in report.problems[0].detail


def test_verify_chain_unknown_checkpoint_key() -> None:
    rows = make_rows(4)
    stranger = Ed25519PrivateKey.generate()
    report = verify_chain("acme", rows, head_of(rows), [sign(4, rows[3].hash, key=stranger)],
                          KEYS)
    assert problems(report) == [(4, BAD_SIGNATURE)]
    assert "unknown key" in report.problems[0].detail


def test_verify_chain_checkpoint_of_another_tenant() -> None:
    rows = make_rows(4)
    report = verify_chain("acme", rows, head_of(rows),
                          [sign(4, rows[3].hash, tenant="globex")], KEYS)
    assert problems(report) == [(4, BAD_SIGNATURE)]


def test_verify_chain_checkpoint_beyond_the_end() -> None:
    rows = make_rows(5)
    report = verify_chain("acme", rows, head_of(rows), [sign(5, rows[4].hash),
                                                        sign(9, rows[4].hash)], KEYS)
    assert problems(report) == [(9, MISSING)]
    assert "ends at seq 5" in report.problems[0].detail


def test_verify_chain_head_beyond_the_end() -> None:
    rows = make_rows(5)
    report = verify_chain("acme", rows[:3], head_of(rows), [], KEYS)
    assert problems(report) == [(4, MISSING)]
    assert "seqs 4-5" in report.problems[0].detail


def test_verify_chain_head_hash_differs() -> None:
    rows = make_rows(5)
    report = verify_chain("acme", rows, ChainHead(1, 5, bytes(32)), [], KEYS)
    assert problems(report) == [(5, CHANGED)]


def test_verify_chain_empty() -> None:
    report = verify_chain("acme", [], None, [], KEYS)
    assert report.ok
    assert report.events_checked == 0
    assert report.first_problem is None
