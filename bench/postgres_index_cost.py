"""What each part of the PostgreSQL events table costs at ingest: the same sealed demo
events COPYed into table variants, from the bare columns as text up to the events
table as Trailbook makes it, in transactions of 5,000. Text-format COPY for the parts,
then the store's own binary COPY (``copy_rows``) into Trailbook's table.

    .venv/bin/python bench/postgres_index_cost.py --database postgresql://postgres@127.0.0.1:5432/test

Only the COPY and commit are timed (the data is made before the clock starts). Each
variant runs in a schema of its own, dropped afterwards."""

from __future__ import annotations

import argparse
import sys
import time
import uuid

import msgspec
import orjson
import psycopg

from trailbook.integrity.chain import GENESIS
from trailbook.model.event import EventIn
from trailbook.model.limits import DEFAULT_CATEGORIES
from trailbook.model.normalize import TenantInfo, normalize_batch
from trailbook.model.prepared import PreparedEvent
from trailbook.model.timefmt import now_us
from trailbook.query.tsvector import tsvector_text
from trailbook.service.demo import demo_events
from trailbook.store.postgres.store import _EVENT_COLUMNS, copy_rows
from trailbook.store.sealing import SealedBatch

BATCH = 5000
TYPED = ("tenant_id integer NOT NULL, pos bigint NOT NULL, seq bigint NOT NULL,"
         " id uuid NOT NULL, category text NOT NULL, action text NOT NULL, idem_key text,"
         " hash bytea NOT NULL, doc text NOT NULL, search tsvector NOT NULL,"
         " metadata jsonb, changes jsonb")
AS_TEXT = TYPED.replace("tsvector", "text").replace("jsonb", "text")
KEY = ", PRIMARY KEY (tenant_id, pos)"
BTREES = ["CREATE INDEX ON ev (tenant_id, seq)", "CREATE INDEX ON ev (id)"]
GIN = ["CREATE INDEX ON ev USING gin (search)"]

# (label, statements making table "ev")
VARIANTS: list[tuple[str, list[str]]] = [
    ("no index; search, metadata and changes as plain text", [f"CREATE TABLE ev ({AS_TEXT})"]),
    ("no index; metadata and changes as jsonb",
     [f"CREATE TABLE ev ({TYPED.replace('tsvector', 'text')})"]),
    ("no index; search as tsvector", [f"CREATE TABLE ev ({TYPED.replace('jsonb', 'text')})"]),
    ("no index; all typed (tsvector, jsonb)", [f"CREATE TABLE ev ({TYPED})"]),
    ("typed + primary key + 2 B-trees", [f"CREATE TABLE ev ({TYPED}{KEY})", *BTREES]),
    ("typed + GIN on search only", [f"CREATE TABLE ev ({TYPED})", *GIN]),
    ("typed + all indexes, partitioned (Trailbook's table)",
     [f"CREATE TABLE ev ({TYPED}{KEY}) PARTITION BY RANGE (pos)",
      "CREATE TABLE ev_default PARTITION OF ev DEFAULT", *BTREES, *GIN]),
]


def _text_field(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _text_row(tenant_id: int, pos: int, seq: int, event: PreparedEvent, canonical: bytes,
              chain_hash: bytes) -> str:
    """One row in COPY's text format, as the store wrote them before binary COPY."""
    doc = orjson.loads(canonical)
    key = event.idempotency_key
    return "\t".join((
        str(tenant_id), str(pos), str(seq), event.id, _text_field(event.category),
        _text_field(event.action), "\\N" if key is None else _text_field(key),
        "\\\\x" + chain_hash.hex(), _text_field(canonical.decode()),
        tsvector_text(event.terms),
        _text_field(orjson.dumps(doc["metadata"]).decode().replace("\\u0000", "\\ufffd")),
        _text_field(orjson.dumps(doc["changes"]).decode()),
    ))


def copy_data(count: int) -> tuple[list[bytes], list[bytes]]:
    """Sealed demo events, one batch per item: as COPY text, and as the store's binary
    COPY."""
    info = TenantInfo(1, "bench", frozenset(DEFAULT_CATEGORIES), search_vector=True)
    raw = msgspec.convert(list(demo_events(count, seed=3)), list[EventIn])
    texts: list[bytes] = []
    binaries: list[bytes] = []
    head = (0, GENESIS)
    for start in range(0, count, BATCH):
        events = normalize_batch(raw[start:start + BATCH], info, now_us(), batch=True)
        sealing = SealedBatch(events, {}, *head)
        head = sealing.head
        texts.append("".join(
            _text_row(1, seq, seq, events[index], canonical, chain_hash) + "\n"
            for index, seq, canonical, chain_hash in sealing.sealed).encode())
        binaries.append(copy_rows(1, events, sealing.sealed, {}))
    return texts, binaries


def run(url: str, label: str, statements: list[str], data: list[bytes], count: int,
        copy_format: str = "text") -> None:
    schema = f"bench_pgcost_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            conn.execute(f"SET search_path = {schema}")
            for statement in statements:
                conn.execute(statement)
            started = time.perf_counter()
            for batch in data:
                with conn.transaction(), conn.cursor() as cur, cur.copy(
                        f"COPY ev ({_EVENT_COLUMNS}) FROM STDIN (FORMAT {copy_format})"
                ) as copy:
                    copy.write(batch)
            elapsed = time.perf_counter() - started
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"| {label} | {count / elapsed:,.0f} | {elapsed / count * 1e6:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    texts, binaries = copy_data(args.events)
    with psycopg.connect(args.database) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    print(f"`python bench/postgres_index_cost.py {' '.join(sys.argv[1:])}`, PostgreSQL "
          f"{version[0] if version else '?'}; COPY text "
          f"{sum(map(len, texts)) / args.events:,.0f} bytes/event, binary "
          f"{sum(map(len, binaries)) / args.events:,.0f}\n")
    print("| table | events/s | µs/event |\n|---|---:|---:|")
    for label, statements in VARIANTS:
        run(args.database, label, statements, texts, args.events)
    run(args.database, "no index; all typed, binary COPY", VARIANTS[3][1], binaries,
        args.events, "binary")
    run(args.database, f"{VARIANTS[-1][0]}, binary COPY (the store)", VARIANTS[-1][1],
        binaries, args.events, "binary")


if __name__ == "__main__":
    main()
