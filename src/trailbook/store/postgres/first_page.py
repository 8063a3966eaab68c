"""A page of search results on PostgreSQL, rare terms first.

A filter with a full-text condition can be answered two ways: walk the tenant's
(tenant_id, pos) index backwards from the newest event and test each event's tsvector
until a page is full (quick when the terms are common), or ask the GIN index for every
match and sort them (quick when they are rare). The planner chooses from its estimate
of how common the terms are, and for key tokens it has no statistics on (an id, an
address) it guesses "common": a rare id then walks most of the trail (over a second
at a million events).

So the walk gets ``WALK_BUDGET_MS`` first: common terms fill a page well within it
(a few ms at a million events). When it runs out, the index is asked for at most
``RARE_CAP`` matches within ``RARE_BUDGET_MS`` (bitmap scans only); when it answers in
time with no more than that, those are all the matches and the page is the newest of
them. Only when both run out (terms neither common nor rare enough, or a phrase whose
words are common but which is rare itself) does the walk go on without a budget.
At a million events on PostgreSQL this took the p95 of a first page by target id from
752 to 33 ms and of a phrase from 796 to 71 ms, at no cost to common terms; at ten
million, target ids from 645 to 101 ms (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors

from trailbook.query.filters import EventFilter
from trailbook.store.postgres.search import compile_match

COLUMNS = "pos, seq, doc, hash"
WALK_BUDGET_MS = 25  # for the time-ordered walk, before the index is asked
RARE_CAP = 20_000  # matches gathered from the index at most
RARE_BUDGET_MS = 200  # for gathering them


def search_page(conn: psycopg.Connection, tenant_id: int, flt: EventFilter,
                before_pos: int | None, limit: int) -> list[Any]:
    """(pos, seq, doc, hash) of the newest ``limit`` events matching ``flt`` before
    ``before_pos``, newest first."""
    source, params = compile_match(tenant_id, flt, before_pos)
    walk = f"SELECT {COLUMNS} {source} ORDER BY pos DESC LIMIT %s"
    if "search @@" in source:
        page = _walk_within_budget(conn, walk, [*params, limit])
        if page is not None:
            return page
        found = _rare_positions(conn, source, params)
        if found is not None:
            newest = sorted(found, reverse=True)[:limit]
            if not newest:
                return []
            return conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE tenant_id = %s AND pos = ANY(%s)"
                " ORDER BY pos DESC", [tenant_id, newest]).fetchall()
    return conn.execute(walk, [*params, limit]).fetchall()


def _walk_within_budget(conn: psycopg.Connection, walk: str,
                        params: list[object]) -> list[Any] | None:
    """The time-ordered walk's page, if it comes within ``WALK_BUDGET_MS``."""
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = {WALK_BUDGET_MS}")
            return conn.execute(walk, params).fetchall()
    except pg_errors.QueryCanceled:
        return None


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
