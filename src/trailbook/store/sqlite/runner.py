"""The SQLite adapter of ``trailbook.store.accounts``: reads on the thread's reader
connection, each write in its own transaction under the store's one-writer lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

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
