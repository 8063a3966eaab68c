"""What each part of the SQLite schema costs at ingest: the same prepared demo events
(validated, sealed) inserted under schema variants, in transactions of 5,000.

    .venv/bin/python bench/index_cost.py --events 200000

Only the SQL work is timed (rows are built before the clock starts)."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable

import msgspec

from trailbook.integrity.chain import GENESIS
from trailbook.model.event import EventIn
from trailbook.model.normalize import TenantInfo, normalize_batch
from trailbook.model.timefmt import now_us
from trailbook.query import terms as T
from trailbook.service.demo import demo_events
from trailbook.store.sealing import SealedBatch
from trailbook.store.sqlite.migrations import known_migrations
from trailbook.store.sqlite.store import _EVENT_COLUMNS, _FTS_COLUMNS, PAGE_SIZE, _insert_values

Row = tuple[object, ...]
SCHEMA = "\n".join(m.sql for m in known_migrations())  # the current schema
SECONDARY = ("CREATE UNIQUE INDEX events_id", "CREATE INDEX events_tenant_pos",
             "CREATE UNIQUE INDEX events_tenant_seq", "CREATE UNIQUE INDEX events_tenant_idem")
LOW_CARDINALITY = {T.TENANT, T.CATEGORY, T.ACTION_TYPE, T.SEVERITY, T.RESULT, T.ACTOR_TYPE,
                   T.ACTION, T.ACTION_PREFIX, T.TARGET_TYPE, T.SCOPE}


def prepare(count: int) -> tuple[list[Row], list[Row]]:
    from trailbook.model.limits import DEFAULT_CATEGORIES

    info = TenantInfo(1, "bench", frozenset(DEFAULT_CATEGORIES))
    events = msgspec.convert(list(demo_events(count, seed=11)), list[EventIn])
    rows: list[Row] = []
    fts: list[Row] = []
    head = (0, GENESIS)
    for start in range(0, count, 5000):
        batch = normalize_batch(events[start:start + 5000], info, now_us(), batch=True)
        sealing = SealedBatch(batch, {}, *head)
        head = sealing.head
        for index, seq, canonical, chain_hash in sealing.sealed:
            p = batch[index]
            pos = p.occurred_us * 1024 + seq % 1024
            rows.append((pos, 1, seq, p.id_bytes, p.category, p.action, None,
                         None, chain_hash, canonical))
            fts.append((pos, p.terms.body, p.terms.actor, p.terms.target, p.terms.keys))
    return rows, fts


def run(label: str, rows: list[Row], fts: list[Row], *, schema: str = SCHEMA,
        fts_row: Callable[[Row], Row] | None = lambda r: r) -> None:
    folder = tempfile.mkdtemp(prefix="trailbook-index-cost-")
    conn = sqlite3.connect(os.path.join(folder, "x.db"), isolation_level=None)
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -65536")
    conn.executescript(schema)
    fts_rows = [fts_row(r) for r in fts] if fts_row else []
    started = time.perf_counter()
    for start in range(0, len(rows), 5000):
        conn.execute("BEGIN IMMEDIATE")
        _insert_values(conn, "events", _EVENT_COLUMNS,
                       [v for row in rows[start:start + 5000] for v in row])
        if fts_rows:
            _insert_values(conn, "events_fts", _FTS_COLUMNS,
                           [v for row in fts_rows[start:start + 5000] for v in row])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    size = os.path.getsize(os.path.join(folder, "x.db")) / len(rows)
    print(f"| {label} | {len(rows) / elapsed:,.0f} | {elapsed / len(rows) * 1e6:.1f} | "
          f"{size:,.0f} |", flush=True)
    conn.close()
    shutil.rmtree(folder, ignore_errors=True)  # ~300 MB a variant at 200,000 events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    rows, fts = prepare(args.events)
    no_index = SCHEMA
    for line in SECONDARY:
        no_index = no_index.replace(line, "-- " + line)
    keys = lambda r, keep: (r[0], "", "", "", " ".join(  # noqa: E731
        t for t in str(r[4]).split() if keep(t[:2] in LOW_CARDINALITY)))
    print(f"`python bench/index_cost.py {' '.join(sys.argv[1:])}`, SQLite "
          f"{sqlite3.sqlite_version}\n")
    print("| schema | events/s | µs/event | bytes on disk/event |\n|---|---:|---:|---:|")
    run("events table only, no secondary index, no FTS", rows, fts, schema=no_index,
        fts_row=None)
    run("events + its 4 indexes, no FTS", rows, fts, fts_row=None)
    run("+ FTS: low-cardinality key tokens only", rows, fts,
        fts_row=lambda r: keys(r, lambda low: low))
    run("+ FTS: high-cardinality key tokens only", rows, fts,
        fts_row=lambda r: keys(r, lambda low: not low))
    run("+ FTS: text columns only", rows, fts, fts_row=lambda r: (*r[:4], ""))
    run("full schema (Trailbook)", rows, fts)
    run("full schema, FTS5 default merge settings", rows, fts, schema=SCHEMA.replace(
        "INSERT INTO events_fts (events_fts, rank)", "-- "))


if __name__ == "__main__":
    main()
