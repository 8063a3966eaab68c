"""The spool: events waiting on disk for the service, in a SQLite file (WAL).

Public API::

    spool = Spool(path)                 # creates the file and its folder
    spool.put([(order, idempotency_key, body), ...])   # one transaction, committed
    spool.peek(limit) -> list[tuple[int, bytes]]        # (id, body), oldest first
    spool.remove(ids)
    len(spool); spool.max_order(); spool.close()

``order`` is the client's logging order: ``peek`` returns entries by (order, id), so a
batch put back after a failed send goes before events spooled after it were logged.
Each ``put`` commits (``synchronous=FULL``), so what is spooled survives a crash of the
program. One ``Spool`` is safe for several threads; several processes may share a file
(SQLite's locking; a busy timeout of 30 s).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

SpoolEntry = tuple[int, str, bytes]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY,
    ord INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_order ON spool (ord, id);
"""


class Spool:
    """A durable FIFO of encoded events (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._count = int(self._db.execute("SELECT count(*) FROM spool").fetchone()[0])

    def put(self, entries: Iterable[SpoolEntry]) -> int:
        """Store ``entries`` (order, idempotency key, JSON body) in one transaction;
        returns how many."""
        rows = list(entries)
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO spool (ord, idempotency_key, body) VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count += len(rows)
        return len(rows)

    def peek(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` entries, oldest first, as (id, body); they stay until removed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM spool ORDER BY ord, id LIMIT ?", (limit,)).fetchall()
            if not rows:
                self._count = 0
        return [(int(i), bytes(b)) for i, b in rows]

    def remove(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                removed = 0
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    removed += self._db.execute(
                        f"DELETE FROM spool WHERE id IN ({marks})", chunk).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count = max(0, self._count - removed)

    def max_order(self) -> int:
        """The highest order spooled (0 when empty): a new client counts on from it."""
        with self._lock:
            found = self._db.execute("SELECT max(ord) FROM spool").fetchone()[0]
        return int(found or 0)

    def __len__(self) -> int:
        """Entries this process knows of."""
        return self._count

    def __bool__(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()
