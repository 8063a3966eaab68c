"""Counting what a filter matches on SQLite: the total (up to a cap), the newest
matching documents (which facets are counted from) and counts by time bucket
(histogram). Each query stops when its time budget runs
out (a progress handler interrupts it) and then answers None instead of failing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from trailbook.query.filters import EventFilter
from trailbook.store.positions import POS_SHIFT
from trailbook.store.records import MatchCount
from trailbook.store.sqlite.search import compile_match, compile_positions

R = TypeVar("R")
PROGRESS_STEPS = 2_000  # SQLite VM steps between checks of the clock


@contextmanager
def _budget(conn: sqlite3.Connection, timeout_ms: int) -> Iterator[None]:
    deadline = time.monotonic() + timeout_ms / 1000
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
    try:
        yield
    finally:
        conn.set_progress_handler(None, 0)


def _within(conn: sqlite3.Connection, timeout_ms: int, work: Callable[[], R]) -> R | None:
    try:
        with _budget(conn, timeout_ms):
            return work()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return None
        raise


def count_matches(conn: sqlite3.Connection, tenant_id: int, flt: EventFilter, cap: int,
                  timeout_ms: int) -> MatchCount | None:
    source, params, order = compile_positions(tenant_id, flt)
    sql = (f"SELECT count(*), min(p) FROM (SELECT {order} AS p {source}"
           f" ORDER BY {order} DESC LIMIT ?)")

    def work() -> MatchCount:
        count, oldest = conn.execute(sql, [*params, cap]).fetchone()
        return MatchCount(int(count), int(count) >= cap, oldest)

    return _within(conn, timeout_ms, work)


def newest_docs(conn: sqlite3.Connection, tenant_id: int, flt: EventFilter, limit: int,
                timeout_ms: int, tenant_token: bool = True) -> list[bytes] | None:
    source, params, order = compile_match(tenant_id, flt, None, tenant_token)
    sql = f"SELECT e.doc {source} ORDER BY {order} DESC LIMIT ?"

    def work() -> list[bytes]:
        return [bytes(r[0]) for r in conn.execute(sql, [*params, limit])]

    return _within(conn, timeout_ms, work)


def histogram_counts(conn: sqlite3.Connection, tenant_id: int, flt: EventFilter,
                     origin_us: int, bucket_us: int,
                     timeout_ms: int) -> list[tuple[int, int]] | None:
    source, params, position = compile_positions(tenant_id, flt)
    sql = (f"SELECT (({position} >> {POS_SHIFT}) - ?) / ? AS b, count(*) {source}"
           " GROUP BY b ORDER BY b")

    def work() -> list[tuple[int, int]]:
        rows = conn.execute(sql, [origin_us, bucket_us, *params]).fetchall()
        return [(origin_us + int(b) * bucket_us, int(n)) for b, n in rows]

    return _within(conn, timeout_ms, work)


def time_span(conn: sqlite3.Connection, tenant_id: int) -> tuple[int, int] | None:
    # Two subqueries: each is one step down the (tenant, pos) index, where min and
    # max in one select would read all of it.
    row = conn.execute(
        "SELECT (SELECT min(pos) FROM events WHERE tenant_id = ?),"
        " (SELECT max(pos) FROM events WHERE tenant_id = ?)", (tenant_id, tenant_id)
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0]) >> POS_SHIFT, int(row[1]) >> POS_SHIFT
