"""The SQLite adapter of ``trailbook.store.accounts``: reads on the thread's reader
connection, each write in its own transaction under the store's one-writer lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from trailbook.store.accounts import DuplicateRow, Row


class SQLiteRunner:
    def __init__(self, reader: Callable[[], sqlite3.Connection],
                 writer: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
        self._reader = reader
        self._writer = writer

    def read(self, sql: str, params: Sequence[object]) -> list[Row]:
        return self._reader().execute(sql, tuple(params)).fetchall()

    def write(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        try:
            with self._writer() as conn:
                cur = conn.execute(sql, tuple(params))
                rows = cur.fetchall()
                return rows, cur.rowcount
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateRow(str(exc)) from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTransactionRunner]:
        """Statements that commit together: the writer's transaction, under the
        one-writer lock, rolled back if the block raises. Only the runner given may be
        used inside (``write`` on this runner would wait for the lock it holds).
        Raises ``DuplicateRow`` for a UNIQUE violation."""
        try:
            with self._writer() as conn:
                yield SQLiteTransactionRunner(conn)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                raise DuplicateRow(str(exc)) from None
            raise


class SQLiteTransactionRunner:
    """Statements on a connection inside a transaction the caller holds (an append's):
    reads see its uncommitted rows, writes become part of it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def read(self, sql: str, params: Sequence[object]) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def write(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        cur = self._conn.execute(sql, tuple(params))
        return cur.fetchall(), cur.rowcount
