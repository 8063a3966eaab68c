"""The full-text index's rows (``events_fts``), for the paths that do not have them
from validation: removing events (retention) and filling the index again.

The index is contentless: it keeps the terms it was given, not the text. So an entry
is removed by giving back the very terms it was made from, and a new index is filled,
by making each event's terms again from its stored canonical form."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

from trailbook.model.normalize import stored_terms

COLUMNS = "rowid, body, actor, target, keys"
REBUILD_CHUNK = 5_000
log = logging.getLogger("trailbook.store")

Entry = tuple[int, str, str, str, str]


def _entry(tenant_id: int, pos: int, doc: bytes) -> Entry:
    """The index entry of the stored event at ``pos`` of ``tenant_id``."""
    terms = stored_terms(tenant_id, doc)
    return (pos, terms.body, terms.actor, terms.target, terms.keys)


def delete_entries(conn: sqlite3.Connection, tenant_id: int,
                   rows: Iterable[tuple[int, bytes]]) -> None:
    """Remove the entries of stored events of ``tenant_id``, given as (pos, doc)."""
    conn.executemany(
        f"INSERT INTO events_fts (events_fts, {COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?)",
        [_entry(tenant_id, pos, doc) for pos, doc in rows])


def refill(conn: sqlite3.Connection) -> int:
    """Fill an empty ``events_fts`` with the entries of every stored event, inside the
    caller's transaction; return how many. Reads the events in position order, a
    chunk at a time, so memory stays flat however many there are."""
    total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    if total:
        log.warning("filling the full-text index again from %s stored events"
                    " (about half a minute a million)", f"{total:,}")
    done = 0
    after = -1
    while True:
        rows = conn.execute(
            "SELECT pos, tenant_id, doc FROM events WHERE pos > ? ORDER BY pos LIMIT ?",
            (after, REBUILD_CHUNK)).fetchall()
        if not rows:
            return done
        conn.executemany(f"INSERT INTO events_fts ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                         [_entry(tenant_id, pos, doc_bytes(doc)) for pos, tenant_id, doc in rows])
        done += len(rows)
        after = rows[-1][0]


def doc_bytes(value: object) -> bytes:
    """A stored document as bytes (read back as a blob, or as text if written so)."""
    return value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[call-overload]
