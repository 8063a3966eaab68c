"""Shared fixtures: a real Trailbook on a temporary SQLite file, an API client over it,
and a real `trailbook serve` process for tests that need the whole server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from trailbook.api.app import create_app
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings
from trailbook.store.records import Tenant


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def tb(data_dir: Path) -> Iterator[Trailbook]:
    instance = Trailbook.open(load_settings(data_dir=data_dir, checkpoint_every_events=100))
    yield instance
    instance.close()


@pytest.fixture
def tenant(tb: Trailbook) -> Tenant:
    return tb.tenants.create("acme")


@pytest.fixture
def api_key(tb: Trailbook, tenant: Tenant) -> str:
    return tb.keys.create(tenant, "tests", ("ingest", "read"))[1]


@pytest.fixture
def client(tb: Trailbook, api_key: str) -> Iterator[TestClient]:
    """An in-process API client authenticated with an ingest+read key of tenant acme."""
    with TestClient(create_app(tb)) as http:
        http.headers["Authorization"] = f"Bearer {api_key}"
        yield http


def minimal_event(**fields: object) -> dict[str, object]:
    """A valid event: what a client must send at the least, plus ``fields``."""
    event: dict[str, object] = {"action": "user.login", "actor": {"id": "u-1"}}
    event.update(fields)
    return event


@dataclass
class RunningServer:
    base_url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the `trailbook` CLI against this server's data folder."""
        return subprocess.run([sys.executable, "-m", "trailbook", *args], env=self.env,
                              capture_output=True, text=True, check=check, timeout=300)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_args() -> list[str]:
    """Extra `trailbook serve` arguments; a test parametrizes this to change them."""
    return []


@pytest.fixture
def server(tmp_path: Path, serve_args: list[str]) -> Iterator[RunningServer]:
    """`trailbook init` then `trailbook serve` as a real process on a free port."""
    data = tmp_path / "server-data"
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data)}
    init = subprocess.run([sys.executable, "-m", "trailbook", "init", "--tenant", "acme"],
                          env=env, capture_output=True, text=True, check=True, timeout=120)
    key = next(line.strip() for line in init.stdout.splitlines()
               if line.strip().startswith("tb_"))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "trailbook", "serve", "--port", str(port),
         "--log-level", "warning", *serve_args],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1.0)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("trailbook serve did not start") from None
            time.sleep(0.1)
    yield RunningServer(base, key, data, process, env)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
