"""Shared fixtures: a real Trailbook on a temporary SQLite file or PostgreSQL schema, an
API client over it, and a real `trailbook serve` process for tests that need the whole
server.

``backend`` names the database: "sqlite" here; test folders whose tests must hold on
both backends (tests/api, the store contract) parametrize it over both. A PostgreSQL
test gets a schema of its own in the database of TRAILBOOK_TEST_POSTGRES_URL, dropped
afterwards. Under CI=true an unreachable PostgreSQL fails those tests; elsewhere they
are skipped with the reason."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from trailbook.api.app import create_app
from trailbook.service.app import Trailbook
from trailbook.service.keys import hash_secret
from trailbook.settings import load_settings
from trailbook.store.records import Tenant

POSTGRES_URL_VARIABLE = "TRAILBOOK_TEST_POSTGRES_URL"
# argon2 at its cheapest: tests sign in hundreds of times (the default costs ~50 ms).
CHEAP_PASSWORDS = {"password_hash_time_cost": 1, "password_hash_memory_kib": 64}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, checked once per run."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    problem = None
    if not url:
        problem = f"{POSTGRES_URL_VARIABLE} is not set"
    else:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            problem = f"PostgreSQL at {url} is unreachable: {exc}"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)")
        pytest.skip(problem)
    assert url is not None
    return url


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The database of this test: None for the default SQLite file in ``data_dir``, or
    a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield None
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"tb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on the search path of every connection."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture
def tb(data_dir: Path, database_url: str | None) -> Iterator[Trailbook]:
    instance = Trailbook.open(load_settings(
        data_dir=data_dir, database_url=database_url, checkpoint_every_events=100,
        **CHEAP_PASSWORDS, **QUIET_SCHEDULE))
    yield instance
    instance.close()


@pytest.fixture
def tenant(tb: Trailbook) -> Tenant:
    return tb.tenants.create("acme")


def setup_key(tb: Trailbook, tenant: Tenant, scopes: tuple[str, ...] = ("ingest", "read"),
              name: str = "tests") -> str:
    """A key made straight in the store, as test setup: unlike ``tb.keys.create`` it
    leaves no ``api_key.create`` event in the tenant's trail, so tests count their own
    events from seq 1."""
    secret = f"tb_{uuid.uuid4().hex}"
    tb.store.accounts.add_api_key(tenant.id, name, secret[:10], hash_secret(secret), scopes,
                         "2026-01-01T00:00:00.000000Z", None)
    return secret


@pytest.fixture
def api_key(tb: Trailbook, tenant: Tenant) -> str:
    return setup_key(tb, tenant)


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
    # The acme trail's last seq before the test: `init` audits the key and the owner
    # it makes, in the trail's admin category.
    setup_seq: int = 0

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
def server_env() -> dict[str, str]:
    """Extra settings of the served process (``{"session_idle_seconds": "2"}``); a test
    parametrizes this to change them."""
    return {}


# The scheduled tasks that record events in every trail (the health check, the
# partition upkeep) run at epoch-aligned period starts; a test that counts the events
# of a trail must not meet one mid-run, so the in-process Trailbook (``tb``, whose app
# runs the scheduler) and the served process get periods of ten years, unless a test
# sets them (``server_env``).
QUIET_SCHEDULE = {"health_check_seconds": str(10 * 365 * 86_400),
                  "task_retention_seconds": str(10 * 365 * 86_400),
                  "task_partitions_seconds": str(10 * 365 * 86_400)}

# The owner `trailbook init` makes for the server's tenant.
SERVER_OWNER = ("owner@acme.example", "server owner password 1")


@pytest.fixture
def server(tmp_path: Path, serve_args: list[str], server_env: dict[str, str],
           database_url: str | None) -> Iterator[RunningServer]:
    """`trailbook init` then `trailbook serve` as a real process on a free port."""
    data = tmp_path / "server-data"
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data),
           "TRAILBOOK_OWNER_EMAIL": SERVER_OWNER[0], "TRAILBOOK_OWNER_PASSWORD": SERVER_OWNER[1],
           **{f"TRAILBOOK_{k.upper()}": str(v) for k, v in CHEAP_PASSWORDS.items()},
           **{f"TRAILBOOK_{k.upper()}": v for k, v in QUIET_SCHEDULE.items()},
           **{f"TRAILBOOK_{k.upper()}": v for k, v in server_env.items()}}
    if database_url:
        env["TRAILBOOK_DATABASE_URL"] = database_url
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
    setup_seq = httpx.get(f"{base}/api/v1/verify", headers={"Authorization": f"Bearer {key}"},
                          timeout=60).json()["last_seq"]
    yield RunningServer(base, key, data, process, env, setup_seq)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
