"""A page of search results on PostgreSQL, rare terms first.

A filter with a full-text condition can be answered two ways: walk the tenant's
(tenant_id, pos) index backwards from the newest event and test each event's tsvector
until a page is full (quick when the terms are common), or ask the GIN index for every
match and sort them (quick when they are rare). The planner chooses from its estimate
of how common the terms are, and for key tokens it has no statistics on (an id, an
address) it guesses "common": a rare id then walks most of the trail (over a second
at a million events).

So the index is asked first, with little to lose: at most ``RARE_CAP`` matches within
``RARE_BUDGET_MS`` (bitmap scans only). When it answers in time with no more than
that, those are all the matches and the page is the newest of them; otherwise the
terms are common and the time-ordered walk finds a page quickly."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors

from trailbook.query.filters import EventFilter
from trailbook.store.postgres.search import compile_match

COLUMNS = "pos, seq, doc, hash"
RARE_CAP = 2_000  # matches gathered from the index at most
RARE_BUDGET_MS = 40  # for gathering them


def search_page(conn: psycopg.Connection, tenant_id: int, flt: EventFilter,
                before_pos: int | None, limit: int) -> list[Any]:
    """(pos, seq, doc, hash) of the newest ``limit`` events matching ``flt`` before
    ``before_pos``, newest first."""
    source, params = compile_match(tenant_id, flt, before_pos)
    if "search @@" in source:
        found = _rare_positions(conn, source, params)
        if found is not None:
            newest = sorted(found, reverse=True)[:limit]
            if not newest:
                return []
            return conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE tenant_id = %s AND pos = ANY(%s)"
                " ORDER BY pos DESC", [tenant_id, newest]).fetchall()
    return conn.execute(f"SELECT {COLUMNS} {source} ORDER BY pos DESC LIMIT %s",
                        [*params, limit]).fetchall()


def _rare_positions(conn: psycopg.Connection, source: str,
                    params: list[object]) -> list[int] | None:
    """Every matching position, if the index gives them all (at most ``RARE_CAP``)
    within the budget; None when the terms are too common for that."""
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = {RARE_BUDGET_MS}")
            conn.execute("SET LOCAL enable_indexscan = off")  # no time-ordered walk
            conn.execute("SET LOCAL enable_seqscan = off")
            rows = conn.execute(f"SELECT pos {source} LIMIT %s",
                                [*params, RARE_CAP + 1]).fetchall()
    except pg_errors.QueryCanceled:
        return None
    if len(rows) > RARE_CAP:
        return None
    return [int(r[0]) for r in rows]
