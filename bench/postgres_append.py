"""Where a PostgreSQL append spends its time, per event: validation (done in worker
processes in real ingest), building the binary COPY in the writer, and the whole
``PostgresStore.append`` (lock, seal, COPY into the indexed month partition, commit).

    .venv/bin/python bench/postgres_append.py --database postgresql://postgres@127.0.0.1:5432/test

Runs in a schema of its own, dropped afterwards."""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from tempfile import mkdtemp

import msgspec
import psycopg

from trailbook.integrity.chain import GENESIS
from trailbook.model.event import EventIn
from trailbook.model.normalize import normalize_batch
from trailbook.model.timefmt import now_us
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.service.tenants import tenant_info
from trailbook.settings import load_settings
from trailbook.store.postgres.store import copy_rows
from trailbook.store.sealing import SealedBatch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    schema = f"bench_append_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in args.database else "?"
    url = f"{args.database}{joiner}options=-csearch_path%3D{schema}"
    try:
        settings = load_settings(data_dir=Path(mkdtemp()), database_url=url,
                                 checkpoint_every_events=10**9)
        with Trailbook.open(settings) as tb:
            tenant = tb.tenants.create("bench")
            info = tenant_info(tenant, search_vector=True)
            raw = msgspec.convert(list(demo_events(args.events, seed=3)), list[EventIn])
            n = args.events
            started = time.perf_counter()
            batches = [normalize_batch(raw[i:i + args.batch], info, now_us(), batch=True)
                       for i in range(0, n, args.batch)]
            validated = time.perf_counter()
            # The binary COPY alone, for events sealed on a chain of their own.
            head = (0, GENESIS)
            for events in batches:
                sealing = SealedBatch(events, {}, *head)
                head = sealing.head
                copy_rows(tenant.id, events, sealing.sealed, {})
            texted = time.perf_counter()
            for events in batches:
                tb.store.append(info, events)
            appended = time.perf_counter()
    finally:
        with psycopg.connect(args.database, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    us = 1e6 / n
    print(f"`python bench/postgres_append.py --events {n}`: per event, "
          f"validation {(validated - started) * us:.1f} µs (in workers in real ingest); "
          f"seal + COPY rows {(texted - validated) * us:.1f} µs; whole append "
          f"{(appended - texted) * us:.1f} µs ({n / (appended - texted):,.0f} events/s)")


if __name__ == "__main__":
    main()
