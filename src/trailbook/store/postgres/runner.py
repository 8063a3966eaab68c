"""The PostgreSQL adapter of ``trailbook.store.accounts``: each statement on a pooled
connection in autocommit (one statement, one transaction)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from psycopg_pool import ConnectionPool

from trailbook.store.accounts import DuplicateRow, Row


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresRunner:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def read(self, sql: str, params: Sequence[object]) -> list[Row]:
        with self._pool.connection() as conn:
            return conn.execute(_placeholders(sql), tuple(params)).fetchall()

    def write(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        try:
            with self._pool.connection() as conn:
                cur = conn.execute(_placeholders(sql), tuple(params))
                rows = cur.fetchall() if cur.description is not None else []
                return rows, cur.rowcount
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateRow(str(exc)) from None

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransactionRunner]:
        """Statements that commit together: one pooled connection in a transaction,
        rolled back if the block raises. Raises ``DuplicateRow`` for a UNIQUE
        violation."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield PostgresTransactionRunner(conn)
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateRow(str(exc)) from None


class PostgresTransactionRunner:
    """Statements on a connection inside a transaction the caller holds (an append's):
    reads see its uncommitted rows, writes become part of it."""

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self._conn = conn

    def read(self, sql: str, params: Sequence[object]) -> list[Row]:
        return self._conn.execute(_placeholders(sql), tuple(params)).fetchall()

    def write(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        cur = self._conn.execute(_placeholders(sql), tuple(params))
        rows = cur.fetchall() if cur.description is not None else []
        return rows, cur.rowcount
