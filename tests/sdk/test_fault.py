"""The fault test over real HTTP: 100,000 events while the server is SIGKILLed and
restarted twice and the client process itself is SIGKILLed and restarted once. The
service ends with exactly those events, once each, and the chain verifies."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import RunningServer
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings

COUNT = 100_000
DRIVER = Path(__file__).with_name("fault_client.py")
# Events a killed client may have held only in memory (logged, not yet spooled or sent):
# the restarted client logs them again; idempotency keys make repeats harmless.
MARGIN = 5_000


def _serve(server: RunningServer) -> subprocess.Popen[bytes]:
    port = server.base_url.rsplit(":", 1)[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "trailbook", "serve", "--port", port, "--log-level", "error"],
        env=server.env)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{server.base_url}/api/v1/health", timeout=1.0)
            return process
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("trailbook serve did not restart") from None
            time.sleep(0.1)


def _stored(server: RunningServer) -> int:
    """Events in the acme trail beyond the setup ones (its chain head), read from the
    database file (the server may be down)."""
    db = sqlite3.connect(f"file:{server.data_dir / 'trailbook.db'}?mode=ro", uri=True,
                         timeout=30)
    try:
        row = db.execute("SELECT max(seq) FROM chain_heads h JOIN tenants t "
                         "ON t.id = h.tenant_id WHERE t.name = 'acme'").fetchone()
    finally:
        db.close()
    return int(row[0] or 0) - server.setup_seq


def _wait_stored(server: RunningServer, at_least: int, client: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while _stored(server) < at_least:
        assert client.poll() is None, "the client ended early"
        assert time.monotonic() < deadline, "the client made no progress"
        time.sleep(0.2)


def _client(server: RunningServer, tmp_path: Path, start: int,
            rate: int) -> subprocess.Popen[str]:
    args = [sys.executable, str(DRIVER), server.base_url, server.api_key,
            str(tmp_path / "spool.db"), "run1", str(start), str(COUNT), str(rate),
            str(tmp_path / "progress")]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_no_event_lost_or_doubled_across_kills(server: RunningServer, tmp_path: Path) -> None:
    processes: list[subprocess.Popen[bytes]] = []
    first = _client(server, tmp_path, 0, rate=5_000)
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "0"  # a fresh spool
        _wait_stored(server, 15_000, first)
        server.process.send_signal(signal.SIGKILL)  # server kill 1, mid-stream
        server.process.wait()
        time.sleep(1.5)
        processes.append(_serve(server))
        _wait_stored(server, 40_000, first)
        processes[-1].send_signal(signal.SIGKILL)  # server kill 2
        processes[-1].wait()
        time.sleep(1.5)  # the client spools what it logs meanwhile
        first.send_signal(signal.SIGKILL)  # client kill, while the server is down
        first.wait()
        logged = int((tmp_path / "progress").read_text())
        assert logged < COUNT
        processes.append(_serve(server))
        second = _client(server, tmp_path, max(0, logged - MARGIN), rate=50_000)
        assert second.stdout is not None
        spooled_at_start = int(second.stdout.readline())
        assert spooled_at_start > 0  # the killed client's spool is replayed
        out, _ = second.communicate(timeout=150)
        assert second.returncode == 0
        stats = json.loads(out.strip().splitlines()[-1])
        assert stats["failed"] == 0 and stats["dropped"] == 0 and stats["pending"] == 0

        verify = httpx.get(f"{server.base_url}/api/v1/verify", timeout=120,
                           headers={"Authorization": f"Bearer {server.api_key}"}).json()
        assert verify["ok"] is True
        assert verify["last_seq"] - server.setup_seq == COUNT  # nothing stored twice
    finally:
        if first.poll() is None:
            first.kill()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    with Trailbook.open(load_settings(data_dir=server.data_dir), migrate=False) as tb:
        tenant = tb.tenants.get("acme")
        keys = [row.idempotency_key for row in tb.store.iter_chain(tenant.id)
                if row.seq > server.setup_seq]
    assert sorted(keys) == sorted(f"run1-{i}" for i in range(COUNT))
