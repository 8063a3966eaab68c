"""Retention's removal of events from the SQLite store: the one path that deletes
events. The triggers that refuse deletion are dropped and put back inside the same
transaction, so no other writer ever sees the table unguarded, and a failure (or a
kill) anywhere leaves everything as it was."""

from __future__ import annotations

import sqlite3

from trailbook.model.normalize import TenantInfo
from trailbook.store.purges import PurgedRow, PurgeRecord, write_purge
from trailbook.store.records import ChainRow
from trailbook.store.sqlite import fulltext
from trailbook.store.sqlite.runner import SQLiteTransactionRunner

GUARDS = ("events_append_only_delete", "annotations_append_only_delete")
SCAN_COLUMNS = "seq, pos, id, category, action, idem_key, doc, hash"


def scan(conn: sqlite3.Connection, tenant_id: int, category: str, after_pos: int,
         before_pos: int, limit: int) -> list[ChainRow]:
    """The tenant's events of ``category`` with ``after_pos`` < pos < ``before_pos``,
    oldest first (a range of the (tenant_id, category) index, whose rows end in pos)."""
    rows = conn.execute(
        f"SELECT {SCAN_COLUMNS} FROM events WHERE tenant_id = ? AND category = ?"
        " AND pos > ? AND pos < ? ORDER BY pos LIMIT ?",
        (tenant_id, category, after_pos, before_pos, limit)).fetchall()
    return [ChainRow(r[0], r[1], bytes(r[2]), r[3], r[4], r[5], fulltext.doc_bytes(r[6]),
                     bytes(r[7])) for r in rows]


def purge(conn: sqlite3.Connection, tenant: TenantInfo, record: PurgeRecord,
          removed: list[PurgedRow], rows: list[ChainRow]) -> None:
    """Inside the writer's transaction: delete ``rows`` (events of ``tenant``), their
    full-text entries and annotations, and file ``record`` with ``removed``."""
    guards = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)",
        GUARDS).fetchall()
    for name, _ in guards:
        conn.execute(f"DROP TRIGGER {name}")
    fulltext.delete_entries(conn, tenant.id, ((row.pos, row.doc) for row in rows))
    positions = [(tenant.id, row.pos) for row in rows]
    conn.executemany("DELETE FROM annotations WHERE tenant_id = ? AND event_pos = ?",
                     positions)
    deleted = 0
    for params in positions:
        deleted += conn.execute("DELETE FROM events WHERE tenant_id = ? AND pos = ?",
                                params).rowcount
    if deleted != len(rows):
        raise sqlite3.IntegrityError(
            f"{len(rows) - deleted} event(s) to purge were no longer stored")
    write_purge(SQLiteTransactionRunner(conn), record, removed)
    for _, sql in guards:
        conn.execute(sql)
