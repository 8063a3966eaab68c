"""Benchmark of the Python SDK: ``client.log`` calls/s in the calling thread, and events/s
end to end to a local ``trailbook serve`` (SQLite). Prints a Markdown table.

    python bench/sdk.py [--calls 300000] [--events 200000] [--batch-size 1000]

- "log() only": the sender thread is held (its first request blocks), so the figure is
  the caller's cost: build, validate, encode, enqueue.
- "log() while sending": the sender drains the queue into an in-process mock transport,
  sharing the GIL with the caller, as in an application.
- "end to end": ``log()`` as fast as possible, then ``flush()``, against a real server on
  loopback; the time runs from the first ``log()`` to ``flush()`` returning, and the
  server's chain is checked afterwards (every event stored once, chain verifies).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from trailbook.sdk import Client, context

SHAPES: dict[str, Callable[[Client, int], object]] = {
    "minimal (action, actor id)": lambda c, i: c.log("user.login", actor="u-1"),
    "typical (actor object, target, metadata)": lambda c, i: c.log(
        "invoice.update", actor={"id": "u-1", "name": "Ann"}, targets=[("invoice", "inv-7")],
        metadata={"amount": i, "currency": "EUR"}),
}


def _calls_per_second(client: Client, shape: Callable[[Client, int], object], n: int,
                      under_context: bool) -> float:
    began = time.perf_counter()
    if under_context:
        with context(actor="u-1", request_id="r-1", ip="203.0.113.9"):
            for _ in range(n):
                client.log("doc.read")
    else:
        for i in range(n):
            shape(client, i)
    return n / (time.perf_counter() - began)


def bench_log(n: int, tmp: Path) -> list[tuple[str, str, float]]:
    rows = []
    for mode in ("log() only", "log() while sending"):
        for label, shape in [*SHAPES.items(), ("from context (actor, request id, ip)", None)]:
            hold = threading.Event()

            def answer(request: httpx.Request, hold: threading.Event = hold,
                       mode: str = mode) -> httpx.Response:
                if mode == "log() only":
                    hold.wait()
                return httpx.Response(201, json={})

            client = Client("http://bench.invalid", "k", transport=httpx.MockTransport(answer),
                            spool=False, batch_size=1000, queue_size=10 * n)
            rate = _calls_per_second(client, shape or SHAPES["minimal (action, actor id)"], n,
                                     under_context=shape is None)
            hold.set()
            client.close(timeout=60)
            rows.append((mode, label, rate))
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_end_to_end(n: int, batch_size: int, tmp: Path,
                     server_workers: int = 1) -> tuple[float, bool]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(tmp / "data"),
           "TRAILBOOK_OWNER_EMAIL": "o@bench.example",
           "TRAILBOOK_OWNER_PASSWORD": "bench owner password 1"}
    init = subprocess.run([sys.executable, "-m", "trailbook", "init", "--tenant", "acme"],
                          env=env, capture_output=True, text=True)
    if init.returncode:
        raise SystemExit(f"trailbook init failed: {init.stderr}")
    key = next(x.strip() for x in init.stdout.splitlines() if x.strip().startswith("tb_"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "trailbook", "serve", "--port", str(port),
                               "--workers", str(server_workers), "--log-level", "warning"],
                              env=env)
    try:
        while True:
            try:
                httpx.get(f"{url}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        head = httpx.get(f"{url}/api/v1/verify", headers={"Authorization": f"Bearer {key}"},
                         timeout=60).json()["last_seq"]
        client = Client(url, key, spool_path=tmp / "spool.db", batch_size=batch_size,
                        queue_size=n + 1, timeout=60)
        began = time.perf_counter()
        for i in range(n):
            client.log("invoice.update", actor={"id": "u-1", "name": "Ann"},
                       targets=[("invoice", f"inv-{i}")], metadata={"amount": i})
        assert client.flush(timeout=600)
        elapsed = time.perf_counter() - began
        client.close()
        report = httpx.get(f"{url}/api/v1/verify", headers={"Authorization": f"Bearer {key}"},
                           timeout=600).json()
        ok = bool(report["ok"]) and report["last_seq"] - head == n
        return n / elapsed, ok
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--server-workers", type=int, default=1,
                        help="trailbook serve --workers for the end-to-end run")
    parser.add_argument("--only-e2e", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows = [] if args.only_e2e else bench_log(args.calls, tmp)
        e2e, ok = bench_end_to_end(args.events, args.batch_size, tmp, args.server_workers)
    print(f"`python bench/sdk.py --calls {args.calls} --events {args.events} "
          f"--batch-size {args.batch_size} --server-workers "
          f"{args.server_workers}{' --only-e2e' if args.only_e2e else ''}` "
          f"({os.cpu_count()} cores)\n")
    print("| measure | event | rate |\n|---|---|---:|")
    for mode, label, rate in rows:
        print(f"| {mode} | {label} | {rate:,.0f} calls/s |")
    print(f"| end to end, one client, batches of {args.batch_size}, server with "
          f"{args.server_workers} worker(s) | typical | "
          f"{e2e:,.0f} events/s ({'all stored once, chain verifies' if ok else 'CHECK FAILED'}) |")


if __name__ == "__main__":
    main()
