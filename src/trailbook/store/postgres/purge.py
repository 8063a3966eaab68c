"""Retention's removal of events from the PostgreSQL store: the one path that deletes
events. The append-only triggers let it through only for a transaction that set
``trailbook.retention = 'on'``; the purge record, the hashes kept of the removed
events and the removal commit together or not at all. A month partition whose every
row is being purged is detached and dropped instead of emptied row by row."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import psycopg

from trailbook.model.normalize import TenantInfo
from trailbook.store.positions import POS_SHIFT
from trailbook.store.postgres.partitions import PARTITION_LOCK, Month, month_of
from trailbook.store.postgres.runner import PostgresTransactionRunner
from trailbook.store.purges import PurgedRow, PurgeRecord, write_purge
from trailbook.store.records import ChainRow

SCAN_COLUMNS = "seq, pos, id, category, action, idem_key, doc, hash"


def scan(conn: psycopg.Connection, tenant_id: int, category: str, after_pos: int,
         before_pos: int, limit: int) -> list[ChainRow]:
    """The tenant's events of ``category`` with ``after_pos`` < pos < ``before_pos``,
    oldest first (the months past ``before_pos`` are pruned)."""
    rows = conn.execute(
        f"SELECT {SCAN_COLUMNS} FROM events WHERE tenant_id = %s AND category = %s"
        " AND pos > %s AND pos < %s ORDER BY pos LIMIT %s",
        (tenant_id, category, after_pos, before_pos, limit)).fetchall()
    return [ChainRow(int(r[0]), int(r[1]), r[2].bytes, r[3], r[4], r[5], r[6].encode(),
                     bytes(r[7])) for r in rows]


def month_of_pos(pos: int) -> Month:
    return month_of(datetime.fromtimestamp((pos >> POS_SHIFT) / 1_000_000, UTC))


def _whole_partitions(conn: psycopg.Connection, rows: list[ChainRow]) -> set[str]:
    """The month partitions every row of which is among ``rows``."""
    per_month = Counter(month_of_pos(row.pos).name for row in rows)
    existing = {
        r[0]: float(r[1]) for r in conn.execute(
            "SELECT c.relname, c.reltuples FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"
            " AND c.relname = ANY(%s)", (list(per_month),))
    }
    whole = set()
    for name, count in per_month.items():
        estimate = existing.get(name)
        if estimate is None or estimate > 2 * count:  # clearly holds more: not whole
            continue
        found = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        if found is not None and int(found[0]) == count:
            whole.add(name)
    return whole


def purge(conn: psycopg.Connection, tenant: TenantInfo, record: PurgeRecord,
          removed: list[PurgedRow], rows: list[ChainRow]) -> list[str]:
    """Inside the caller's transaction: remove ``rows`` (events of ``tenant``), their
    idempotency keys and annotations, and file ``record`` with ``removed``. Returns the
    partitions dropped."""
    # Purges of one tenant take turns with each other (and briefly with its appends).
    conn.execute("SELECT 1 FROM chain_heads WHERE tenant_id = %s FOR UPDATE", (tenant.id,))
    conn.execute("SET LOCAL trailbook.retention = 'on'")
    dropped = sorted(_whole_partitions(conn, rows))
    if dropped:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
        for name in dropped:
            conn.execute(f"ALTER TABLE events DETACH PARTITION {name}")
            conn.execute(f"DROP TABLE {name}")
    gone = set(dropped)
    positions = [row.pos for row in rows if month_of_pos(row.pos).name not in gone]
    if positions:
        cur = conn.execute("DELETE FROM events WHERE tenant_id = %s AND pos = ANY(%s)",
                           (tenant.id, positions))
        if cur.rowcount != len(positions):
            raise psycopg.errors.UniqueViolation(
                f"{len(positions) - cur.rowcount} event(s) to purge were no longer stored")
    keys = [row.idempotency_key for row in rows if row.idempotency_key is not None]
    if keys:
        conn.execute("DELETE FROM idempotency_keys WHERE tenant_id = %s AND key = ANY(%s)",
                     (tenant.id, keys))
    conn.execute("DELETE FROM annotations WHERE tenant_id = %s AND event_pos = ANY(%s)",
                 (tenant.id, [row.pos for row in rows]))
    write_purge(PostgresTransactionRunner(conn), record, removed)
    return dropped
