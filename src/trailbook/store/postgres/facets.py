"""Counting what a filter matches on PostgreSQL: the total (up to a cap), the newest
matching documents (which facets are counted from) and counts by time bucket
(histogram). Each query runs under its own
``statement_timeout`` and answers None, not an error, when the budget runs out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

from trailbook.query.filters import EventFilter
from trailbook.store.positions import POS_SHIFT
from trailbook.store.postgres.search import compile_match
from trailbook.store.records import MatchCount

R = TypeVar("R")


def _within(conn: psycopg.Connection, timeout_ms: int,
            work: Callable[[psycopg.Connection], R]) -> R | None:
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = {max(int(timeout_ms), 1)}")
            return work(conn)
    except pg_errors.QueryCanceled:
        return None


def count_matches(conn: psycopg.Connection, tenant_id: int, flt: EventFilter, cap: int,
                  timeout_ms: int) -> MatchCount | None:
    source, params = compile_match(tenant_id, flt)
    sql = (f"SELECT count(*), min(p) FROM (SELECT pos AS p {source}"
           " ORDER BY pos DESC LIMIT %s) s")

    def work(c: psycopg.Connection) -> MatchCount:
        row: Any = c.execute(sql, [*params, cap]).fetchone()
        return MatchCount(int(row[0]), int(row[0]) >= cap, row[1])

    return _within(conn, timeout_ms, work)


def newest_docs(conn: psycopg.Connection, tenant_id: int, flt: EventFilter, limit: int,
                timeout_ms: int) -> list[bytes] | None:
    source, params = compile_match(tenant_id, flt)
    sql = f"SELECT doc {source} ORDER BY pos DESC LIMIT %s"

    def work(c: psycopg.Connection) -> list[bytes]:
        return [r[0].encode() for r in c.execute(sql, [*params, limit])]

    return _within(conn, timeout_ms, work)


def histogram_counts(conn: psycopg.Connection, tenant_id: int, flt: EventFilter,
                     origin_us: int, bucket_us: int,
                     timeout_ms: int) -> list[tuple[int, int]] | None:
    source, params = compile_match(tenant_id, flt)
    sql = (f"SELECT ((pos >> {POS_SHIFT}) - %s) / %s AS b, count(*) {source}"
           " GROUP BY b ORDER BY b")

    def work(c: psycopg.Connection) -> list[tuple[int, int]]:
        rows = c.execute(sql, [origin_us, bucket_us, *params]).fetchall()
        return [(origin_us + int(b) * bucket_us, int(n)) for b, n in rows]

    return _within(conn, timeout_ms, work)


def time_span(conn: psycopg.Connection, tenant_id: int) -> tuple[int, int] | None:
    # Two subqueries: each is one step down the (tenant, pos) index, where min and
    # max in one select would read all of it.
    row = conn.execute(
        "SELECT (SELECT min(pos) FROM events WHERE tenant_id = %s),"
        " (SELECT max(pos) FROM events WHERE tenant_id = %s)", (tenant_id, tenant_id)
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0]) >> POS_SHIFT, int(row[1]) >> POS_SHIFT
