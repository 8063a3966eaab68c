"""Ingest benchmark: one run, the same demo events through three paths.

(a) floor: raw executemany of the event JSON into an unindexed SQLite table (with
    --database postgresql://…: raw COPY into an unindexed PostgreSQL table)
(b) store: Trailbook's bulk ingest of JSON lines (decoding, validation in worker
    processes, canonical form, chain, indexes, FTS), as `trailbook ingest` does it
(c) http:  POST /api/v1/events batches to `trailbook serve` from clients on loopback

    .venv/bin/python bench/ingest.py --events 1000000
    .venv/bin/python bench/ingest.py --database postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/ingest.py --only http --rules 20

--rules N runs (c) twice, without alert rules and with N active ones (realistic rules
over the demo events, alerting a webhook receiver on loopback), and reports the
ratio, and how long the served process's evaluator took after the last request to
have looked at every event.

On PostgreSQL each path runs in a schema of its own, dropped afterwards.

Each path starts with the one before it out of the way: its database deleted (unless
--keep) and the rest on disk (``os.sync``). Otherwise the kernel writes back and
reclaims the earlier path's pages in threads of its own, on the same cores, while the
next one is timed: the floor's ~1 GB, left in place, made the store append ~5% slower
(41,527 against 43,609 events/s alone; 45,322 with it deleted).

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
from trailbook.service.events import BULK_BATCH, BULK_TRANSACTION
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
    (folder / "floor").mkdir()
    conn = sqlite3.connect(folder / "floor" / "floor.db", isolation_level=None)
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


# Rules an operator of the demo's back offices would set (queries of the query language).
RULES = [
    "severity:critical", "action:user.login result:failure", "action:bonus.manual_assign",
    "action:withdrawal.approve severity:critical", "action:player.block",
    "action:miner.overheat", "action:miner.pool.failover", "action:router.reboot",
    "category:admin action:role.assign", "action:user.create", "action:api_key.create",
    "action:cluster.delete", "action:cluster.node.fail", "action:client.suspend",
    "action:user.password.reset", "action:config_profile.update severity:warning",
    "action:record.export severity:notice", "action:user.disable",
    "action:withdrawal.reject", "action:payment.record result:failure",
]


@contextmanager
def webhook_receiver() -> Iterator[str]:
    """A receiver on loopback answering every POST with 200: the rules' channel."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()


def add_rules(env: dict[str, str], count: int, url: str) -> None:
    """``count`` enabled rules (threshold rules among them) alerting one webhook."""
    from trailbook.service.access.audit import CLI
    from trailbook.service.alerts import RuleSpec

    settings = load_settings(data_dir=Path(env["TRAILBOOK_DATA_DIR"]),
                             database_url=env.get("TRAILBOOK_DATABASE_URL"))
    with Trailbook.open(settings) as tb:
        tenant = tb.tenants.get("bench")
        assert tenant is not None
        tb.alerts.add_channel(None, tenant, "bench", "webhook",
                              {"url": url, "secret": "bench-secret-bench-secret"}, CLI)
        for i in range(count):
            query = RULES[i % len(RULES)]
            threshold = 5 if i % 4 == 1 else 1
            tb.alerts.add_rule(None, tenant, RuleSpec(
                f"rule {i}", query, threshold, 600 if threshold > 1 else 0,
                "source.ip" if threshold > 1 else None, channels=("bench",)), CLI)


def evaluated_seq(env: dict[str, str]) -> tuple[int, int]:
    """(the evaluator's cursor, the chain head) of the bench tenant."""
    settings = load_settings(data_dir=Path(env["TRAILBOOK_DATA_DIR"]),
                             database_url=env.get("TRAILBOOK_DATABASE_URL"))
    with Trailbook.open(settings, migrate=False) as tb:
        tenant = tb.tenants.get("bench")
        assert tenant is not None
        head = tb.store.chain_head(tenant.id)
        return tb.store.alerts.cursor(tenant.id) or 0, head.seq if head else 0


def bench_http(events: list[bytes], folder: Path, batch: int, clients: int,
               workers: int, database: str | None = None, rules: int = 0,
               lag: dict[str, float] | None = None) -> float:
    data = folder / ("http" if not rules else f"http-{rules}-rules")
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data)}
    if database:
        env["TRAILBOOK_DATABASE_URL"] = database
    trailbook = [sys.executable, "-m", "trailbook"]
    out = subprocess.run([*trailbook, "init", "--tenant", "bench"], env=env, check=True,
                         capture_output=True, text=True).stdout
    key = next(line.strip() for line in out.splitlines() if line.strip().startswith("tb_"))
    receiver = webhook_receiver() if rules else nullcontext("")
    url = receiver.__enter__()
    if rules:
        add_rules(env, rules, url)
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
        if rules and lag is not None:
            # How long after the last answer the evaluator has looked at every event.
            while True:
                cursor, head = evaluated_seq(env)
                if cursor >= head - 10:  # (its own delivery records come after)
                    break
                time.sleep(0.2)
            lag["seconds"] = time.perf_counter() - started - elapsed
        verify = httpx.get(f"{base}/api/v1/verify", headers=auth, timeout=600.0).json()
        assert verify["ok"] and verify["last_seq"] >= before["last_seq"] + len(events), verify
    finally:
        server.terminate()
        server.wait(timeout=60)
        receiver.__exit__(None, None, None)
    return len(events) / elapsed


def settle(data: Path, keep: bool) -> None:
    """The last path (its data folder) out of the way of the next (see above)."""
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
    os.sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per HTTP request")
    parser.add_argument("--store-batch", type=int, default=BULK_BATCH,
                        help="events per validated batch in (b)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--processes", type=int, default=None,
                        help="validation processes for (b); default: one per core")
    parser.add_argument("--only", default="floor,store,http")
    parser.add_argument("--database", default=None,
                        help="postgresql://… to measure PostgreSQL (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--rules", type=int, default=0,
                        help="also run (c) with this many active alert rules")
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
                    results["floor"] = bench_copy_floor(events, url, BULK_TRANSACTION)
            else:
                results["floor"] = bench_floor(events, folder, BULK_TRANSACTION)
            print(f"(a) floor: {results['floor']:,.0f} events/s", flush=True)
            settle(folder / "floor", args.keep)
        if "store" in only:
            with postgres_schema(pg, "store") if pg else nullcontext(None) as url:
                results["store"] = bench_store(events, folder, args.store_batch,
                                               args.processes, url)
            print(f"(b) store: {results['store']:,.0f} events/s", flush=True)
            settle(folder / "store", args.keep)
        if "http" in only:
            with postgres_schema(pg, "http") if pg else nullcontext(None) as url:
                results["http"] = bench_http(events, folder, args.batch, args.clients,
                                             args.workers, url)
            print(f"(c) http:  {results['http']:,.0f} events/s", flush=True)
            settle(folder / "http", args.keep)
        lag: dict[str, float] = {}
        if "http" in only and args.rules:
            with postgres_schema(pg, "rules") if pg else nullcontext(None) as url:
                results["rules"] = bench_http(events, folder, args.batch, args.clients,
                                              args.workers, url, args.rules, lag)
            print(f"(d) http with {args.rules} rules: {results['rules']:,.0f} events/s; "
                  f"alerts caught up {lag.get('seconds', 0):.1f}s after the last request",
                  flush=True)
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
        "floor": f"(a) raw COPY, unindexed table, transactions of {BULK_TRANSACTION:,}"
        if args.database
        else f"(a) raw executemany, unindexed table, transactions of {BULK_TRANSACTION:,}",
        "store": f"(b) store append, batches of {args.store_batch:,} in transactions of "
        f"{BULK_TRANSACTION:,}, "
        f"{args.processes if args.processes is not None else min(os.cpu_count() or 1, 8)} "
        "validation process(es)",
        "http": f"(c) HTTP API, {args.workers} worker(s), {args.clients} clients, "
        f"batches of {args.batch:,}",
        "rules": f"(d) as (c), with {args.rules} active alert rules",
    }
    for name, rate in results.items():
        ratio = f"{rate / floor:.2f}" if floor else "-"
        print(f"| {labels[name]} | {rate:,.0f} | {ratio} |")
    if "rules" in results and "http" in results:
        print(f"\nWith {args.rules} rules: {results['rules'] / results['http']:.1%} of the "
              f"throughput without (target ≥ 90%); the evaluator had looked at every event "
              f"{lag.get('seconds', 0):.1f}s after the last request was answered.")


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


if __name__ == "__main__":
    main()
