"""Search benchmark: p50/p95/p99 of a fixed mix of query shapes over a large trail.

    .venv/bin/python bench/search.py --events 1000000
    .venv/bin/python bench/search.py --events 10000000 --database postgresql://postgres@127.0.0.1:5432/test

The trail (demo events of the five back offices over 180 days) is loaded once and
kept: SQLite under bench/.cache/ (ignored by git), PostgreSQL in a schema named after
the size. Each shape runs --runs times with parameters drawn from the stored events
(seeded), through the service layer the API uses. Prints a Markdown table for
docs/benchmarks.md."""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson
import psycopg

from trailbook.query.filters import EventFilter
from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.settings import load_settings
from trailbook.store.records import FACET_FIELDS, Tenant

CACHE = Path(__file__).resolve().parent / ".cache"
DAY = 86_400_000_000
SPAN_DAYS = 180
PAGE = 50
BUDGET_MS = 500


def open_trail(events: int, database: str | None) -> tuple[Trailbook, Tenant]:
    """The cached trail of ``events`` demo events, loaded first if missing."""
    data = CACHE / f"search-{events}"
    url = None
    if database:
        schema = f"bench_search_{events}"
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        joiner = "&" if "?" in database else "?"
        url = f"{database}{joiner}options=-csearch_path%3D{schema}"
        data = CACHE / f"search-{events}-postgres"
    tb = Trailbook.open(load_settings(data_dir=data, database_url=url,
                                      checkpoint_every_events=100_000))
    tenant = next((t for t in tb.tenants.all() if t.name == "bench"), None)
    head = tb.store.chain_head(tenant.id) if tenant else None
    # The demo events are seqs 1..events; what follows them is the trail auditing the
    # benchmarks themselves (bench/console.py's owner and page views, exports).
    if tenant is not None and head is not None and head.seq >= events:
        return tb, tenant
    if tenant is not None:
        raise SystemExit(f"{data}: a partial trail; remove it (or the schema) and rerun")
    tenant = tb.tenants.create("bench")
    started = time.perf_counter()
    encoder = msgspec.json.Encoder()
    source = demo_events(events, seed=23, span_days=SPAN_DAYS)

    def batches() -> Any:
        batch: list[bytes] = []
        for event in source:
            batch.append(encoder.encode(event))
            if len(batch) == 5000:
                yield batch
                batch = []
        if batch:
            yield batch

    result = tb.events.ingest_lines(tenant, batches())
    assert result.stored == events, result
    print(f"loaded {events:,} events in {time.perf_counter() - started:.0f}s", flush=True)
    return tb, tenant


class Vocabulary:
    """Values drawn from stored events, to vary each shape's parameters."""

    def __init__(self, tb: Trailbook, tenant: Tenant, rng: random.Random) -> None:
        span = tb.store.time_span(tenant.id)
        assert span is not None
        self.first, self.last = span
        docs: list[dict[str, Any]] = []
        for _ in range(40):
            at = rng.randrange(self.first, self.last)
            page = tb.events.search(tenant, EventFilter(until_us=at), None, 25)
            docs += [orjson.loads(e.doc) for e in page.events]
        self.emails = sorted({d["actor"]["email"] for d in docs if d["actor"]["email"]})
        self.targets = sorted({t["id"] for d in docs for t in d["targets"]})
        self.networks = sorted({str(ipaddress.ip_network(f"{d['source']['ip']}/24",
                                                         strict=False))
                                for d in docs if d.get("source") and d["source"].get("ip")
                                and ":" not in d["source"]["ip"]})
        self.prefixes = sorted({d["action"].split(".")[0] for d in docs})
        self.categories = sorted({d["category"] for d in docs})
        words = [re.findall(r"[A-Za-z]{5,}", d.get("description") or "") for d in docs]
        self.words = sorted({w.lower() for ws in words for w in ws})
        self.phrases = sorted({f"{a} {b}".lower() for ws in words
                               for a, b in itertools.pairwise(ws)})

    def moment(self, rng: random.Random) -> int:
        return rng.randrange(self.first + 30 * DAY, self.last)


def shapes(tb: Trailbook, tenant: Tenant,
           v: Vocabulary) -> dict[str, Callable[[random.Random], object]]:
    def page(flt: EventFilter) -> object:
        return tb.events.search(tenant, flt, None, PAGE)

    return {
        "time window (1 h)": lambda r: page(EventFilter(
            since_us=(t := v.moment(r)) - 3_600_000_000, until_us=t)),
        "action prefix, 7 days": lambda r: page(EventFilter(
            action_prefixes=(r.choice(v.prefixes),), since_us=v.moment(r) - 7 * DAY)),
        "actor email": lambda r: page(EventFilter(actor_emails=(r.choice(v.emails),))),
        "target id": lambda r: page(EventFilter(target_ids=(r.choice(v.targets),))),
        "CIDR /24": lambda r: page(EventFilter(
            ips=(ipaddress.ip_network(r.choice(v.networks)),))),
        "failures, 30 days": lambda r: page(EventFilter(
            results=("failure",), since_us=(t := v.moment(r)) - 30 * DAY, until_us=t)),
        "full-text word": lambda r: page(EventFilter(text=r.choice(v.words))),
        "phrase": lambda r: page(EventFilter(text=f'"{r.choice(v.phrases)}"')),
        "facets (7 fields), 7 days": lambda r: tb.facets.facets(
            tenant, EventFilter(since_us=v.moment(r) - 7 * DAY,
                                categories=(r.choice(v.categories),)),
            FACET_FIELDS, 10, BUDGET_MS),
        "histogram, 30 days": lambda r: tb.facets.histogram(
            tenant, EventFilter(since_us=(t := v.moment(r)) - 30 * DAY, until_us=t,
                                action_prefixes=(r.choice(v.prefixes),)), BUDGET_MS),
        "total count, 30 days": lambda r: tb.facets.total(
            tenant, EventFilter(since_us=(t := v.moment(r)) - 30 * DAY, until_us=t,
                                results=("failure",)), BUDGET_MS),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database", default=None, help="postgresql://… (default SQLite)")
    args = parser.parse_args()
    tune_for_throughput()
    tb, tenant = open_trail(args.events, args.database)
    try:
        rng = random.Random(5)
        vocabulary = Vocabulary(tb, tenant, rng)
        results: dict[str, list[float]] = {}
        for name, run in shapes(tb, tenant, vocabulary).items():
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                run(rng)
                timings.append((time.perf_counter() - started) * 1000)
            results[name] = timings
            print(f"{name}: p50 {statistics.median(timings):.1f} ms", flush=True)
    finally:
        tb.close()
    engine = "PostgreSQL" if args.database else f"SQLite {sqlite3.sqlite_version}"
    print(f"\n`python bench/search.py {' '.join(sys.argv[1:])}` on {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, {engine}, "
          f"{time.strftime('%Y-%m-%d')}\n")
    print(f"| shape ({args.events:,} events) | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|")
    for name, timings in results.items():
        print(f"| {name} | {percentile(timings, 50):.1f} | {percentile(timings, 95):.1f} "
              f"| {percentile(timings, 99):.1f} |")


if __name__ == "__main__":
    main()
