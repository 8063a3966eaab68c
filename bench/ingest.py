"""Ingest benchmark: one run, the same demo events through three paths.

(a) floor: raw executemany of the event JSON into an unindexed SQLite table (with
    --database postgresql://…: raw COPY into an unindexed PostgreSQL table)
(b) store: Trailbook's bulk ingest of JSON lines (decoding, validation in worker
    processes, canonical form, chain, indexes, FTS), as `trailbook ingest` does it
(c) http:  POST /api/v1/events batches to `trailbook serve` from clients on loopback

    .venv/bin/python bench/ingest.py --events 1000000
    .venv/bin/python bench/ingest.py --database postgresql://postgres@127.0.0.1:5432/test

On PostgreSQL each path runs in a schema of its own, dropped afterwards.

Prints events/s and each path's ratio to the floor, as a Markdown table for
docs/benchmarks.md. Timings are for this machine at this moment; run it twice."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx
import msgspec
import psycopg

from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.service.events import BULK_BATCH
from trailbook.settings import load_settings


def make_events(count: int) -> list[bytes]:
    started = time.perf_counter()
    # msgspec, not orjson: orjson's bytes keep a much larger allocation behind them
    # (~8 KB each here), which a list of a million of them turns into gigabytes.
    encoder = msgspec.json.Encoder()
    out = [encoder.encode(e) for e in demo_events(count, seed=11)]
    size = sum(map(len, out)) / len(out)
    print(f"generated {count:,} demo events ({size:.0f} bytes each on average) "
          f"in {time.perf_counter() - started:.1f}s", flush=True)
    return out


def bench_floor(events: list[bytes], folder: Path, batch: int) -> float:
    conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE raw (doc BLOB NOT NULL)")
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO raw (doc) VALUES (?)",
                         ((e,) for e in events[start:start + batch]))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(events) / elapsed


def bench_copy_floor(events: list[bytes], url: str, batch: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE raw (doc text NOT NULL)")
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            with conn.transaction(), conn.cursor() as cur, cur.copy(
                "COPY raw (doc) FROM STDIN"
            ) as copy:
                for event in events[start:start + batch]:
                    copy.write_row((event.decode(),))
        elapsed = time.perf_counter() - started
    return len(events) / elapsed


@contextmanager
def postgres_schema(url: str, name: str) -> Iterator[str]:
    """A fresh schema in the database at ``url``; yields a URL that uses it."""
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in url else "?"
        yield f"{url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def bench_store(events: list[bytes], folder: Path, batch: int, processes: int | None,
                database: str | None = None) -> float:
    settings = load_settings(data_dir=folder / "store", database_url=database)
    with Trailbook.open(settings) as tb:
        tenant = tb.tenants.create("bench")
        started = time.perf_counter()
        batches = (events[start:start + batch] for start in range(0, len(events), batch))
        result = tb.events.ingest_lines(tenant, batches, processes=processes)
        elapsed = time.perf_counter() - started
        assert result.stored == len(events), result
        report = tb.integrity.verify(tenant)
        assert report.ok and report.last_seq == len(events), report.as_dict()
    return len(events) / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_http(events: list[bytes], folder: Path, batch: int, clients: int,
               workers: int, database: str | None = None) -> float:
    data = folder / "http"
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data)}
    if database:
        env["TRAILBOOK_DATABASE_URL"] = database
    trailbook = [sys.executable, "-m", "trailbook"]
    out = subprocess.run([*trailbook, "init", "--tenant", "bench"], env=env, check=True,
                         capture_output=True, text=True).stdout
    key = next(line.strip() for line in out.splitlines() if line.strip().startswith("tb_"))
    port = _free_port()
    server = subprocess.Popen([*trailbook, "serve", "--port", str(port), "--log-level",
                               "warning", "--workers", str(workers)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {key}"}
        # `init` audits the key and the owner it makes: the trail does not start empty.
        before = httpx.get(f"{base}/api/v1/verify", headers=auth, timeout=60).json()
        bodies = [b"[" + b",".join(events[s:s + batch]) + b"]"
                  for s in range(0, len(events), batch)]
        lock = threading.Lock()
        todo = iter(bodies)
        errors: list[str] = []

        def client() -> None:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            with httpx.Client(base_url=base, headers=headers, timeout=120.0) as http:
                while True:
                    with lock:
                        body = next(todo, None)
                    if body is None:
                        return
                    answer = http.post("/api/v1/events", content=body)
                    if answer.status_code != 201:
                        errors.append(f"{answer.status_code} {answer.text[:200]}")
                        return

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise SystemExit(f"HTTP errors: {errors[:3]}")
        verify = httpx.get(f"{base}/api/v1/verify", headers=auth, timeout=600.0).json()
        assert verify["ok"] and verify["last_seq"] == before["last_seq"] + len(events), verify
    finally:
        server.terminate()
        server.wait(timeout=60)
    return len(events) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per HTTP request")
    parser.add_argument("--store-batch", type=int, default=BULK_BATCH,
                        help="events per store transaction in (a) and (b)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--processes", type=int, default=None,
                        help="validation processes for (b); default: one per core")
    parser.add_argument("--only", default="floor,store,http")
    parser.add_argument("--database", default=None,
                        help="postgresql://… to measure PostgreSQL (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    tune_for_throughput()  # as the `trailbook` command does
    only = set(args.only.split(","))
    events = make_events(args.events)
    folder = Path(tempfile.mkdtemp(prefix="trailbook-bench-"))
    results: dict[str, float] = {}
    try:
        pg = args.database
        if "floor" in only:
            if pg:
                with postgres_schema(pg, "floor") as url:
                    results["floor"] = bench_copy_floor(events, url, args.store_batch)
            else:
                results["floor"] = bench_floor(events, folder, args.store_batch)
            print(f"(a) floor: {results['floor']:,.0f} events/s", flush=True)
        if "store" in only:
            with postgres_schema(pg, "store") if pg else nullcontext(None) as url:
                results["store"] = bench_store(events, folder, args.store_batch,
                                               args.processes, url)
            print(f"(b) store: {results['store']:,.0f} events/s", flush=True)
        if "http" in only:
            with postgres_schema(pg, "http") if pg else nullcontext(None) as url:
                results["http"] = bench_http(events, folder, args.batch, args.clients,
                                             args.workers, url)
            print(f"(c) http:  {results['http']:,.0f} events/s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    floor = results.get("floor")
    command = "python bench/ingest.py " + " ".join(sys.argv[1:])
    engine = (f"PostgreSQL {_server_version(args.database)}" if args.database
              else f"SQLite {sqlite3.sqlite_version}")
    print(f"\n`{command}` on {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {engine}, {time.strftime('%Y-%m-%d')}\n")
    print("| path | events/s | ratio to floor |\n|---|---:|---:|")
    labels = {
        "floor": "(a) raw COPY, unindexed table" if args.database
        else "(a) raw executemany, unindexed table",
        "store": f"(b) store append, batches of {args.store_batch:,}, "
        f"{args.processes if args.processes is not None else min(os.cpu_count() or 1, 8)} "
        "validation process(es)",
        "http": f"(c) HTTP API, {args.workers} worker(s), {args.clients} clients, "
        f"batches of {args.batch:,}",
    }
    for name, rate in results.items():
        ratio = f"{rate / floor:.2f}" if floor else "-"
        print(f"| {labels[name]} | {rate:,.0f} | {ratio} |")


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


if __name__ == "__main__":
    main()
