"""examples/django_site run for real (`manage.py migrate`, then `runserver`) against a
real Trailbook server: model events with diffs, the bulk update as ONE changeset event
naming every product, and access events with the client IP through a trusted proxy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import RunningServer
from integrations.conftest import EXAMPLES, wait_for

SITE = EXAMPLES / "django_site"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def shop(server: RunningServer, tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "TRAILBOOK_URL": server.base_url,
           "TRAILBOOK_API_KEY": server.api_key,
           "TRAILBOOK_SPOOL": str(tmp_path / "spool.db"),
           "TRAILBOOK_TRUSTED_PROXIES": "127.0.0.1",
           "SHOP_DB": str(tmp_path / "shop.sqlite3"),
           "DJANGO_SETTINGS_MODULE": "site_config.settings"}
    manage = [sys.executable, str(SITE / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, cwd=SITE, check=True,
                   timeout=120)
    port = _free_port()
    process = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
                               env=env, cwd=SITE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/health", timeout=1.0)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"runserver did not start: {process.stderr!r}") from None
            time.sleep(0.1)
    yield base
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_django_example_against_a_real_server(server: RunningServer, shop: str) -> None:
    alice = {"Authorization": "Bearer alice-token", "X-Request-ID": "req-dj-1",
             "X-Forwarded-For": "1.1.1.1, 203.0.113.44", "User-Agent": "django-example"}
    with httpx.Client(base_url=shop, timeout=30) as http:
        ids = []
        for name, price in (("Lamp", "10.00"), ("Desk", "200.00"), ("Chair", "50.00")):
            answer = http.post("/products", json={"name": name, "price": price},
                               headers=alice)
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        bob = {"Authorization": "Bearer bob-token"}
        assert http.patch(f"/products/{ids[0]}", json={"stock": 5}, headers=bob
                          ).status_code == 200
        assert http.post("/products/reprice", json={"percent": 10}, headers=alice
                         ).json() == {"updated": 3}
        assert http.delete(f"/products/{ids[2]}", headers=bob).status_code == 204
        assert http.get("/health").status_code == 200
        assert http.get("/products").status_code == 200

    created = wait_for(server, 3, action="shop.product.create")
    assert [e["targets"][0]["name"] for e in created] == ["Lamp", "Desk", "Chair"]
    assert all(e["actor"]["name"] == "alice" and e["source"]["ip"] == "203.0.113.44"
               and e["request_id"] == "req-dj-1" for e in created)
    updated = wait_for(server, 1, action="shop.product.update")
    assert len(updated) == 1
    assert updated[0]["changes"] == [{"field": "stock", "old": 0, "new": 5}]
    assert updated[0]["actor"]["name"] == "bob"

    bulk = wait_for(server, 1, action="shop.product.bulk_update")
    assert len(bulk) == 1, "the bulk update is ONE changeset event"
    event = bulk[0]
    assert sorted(t["id"] for t in event["targets"]) == sorted(str(i) for i in ids)
    assert {c["field"]: (c["old"], c["new"]) for c in event["changes"]} == {
        f"shop.product:{ids[0]}.price": ("10.00", "11.00"),
        f"shop.product:{ids[1]}.price": ("200.00", "220.00"),
        f"shop.product:{ids[2]}.price": ("50.00", "55.00")}
    assert event["metadata"]["changeset"]["count"] == 3
    assert event["actor"]["name"] == "alice"

    deleted = wait_for(server, 1, action="shop.product.delete")
    assert deleted[0]["targets"][0]["id"] == str(ids[2])
    assert {c["field"]: c["old"] for c in deleted[0]["changes"]}["name"] == "Chair"

    access = wait_for(server, 7, action="http.request")
    assert [(e["metadata"]["method"], e["metadata"]["path"], e["metadata"]["status"])
            for e in access] == [
        ("POST", "/products", 201), ("POST", "/products", 201), ("POST", "/products", 201),
        ("PATCH", f"/products/{ids[0]}", 200), ("POST", "/products/reprice", 200),
        ("DELETE", f"/products/{ids[2]}", 204), ("GET", "/products", 200)]
    assert access[0]["source"]["ip"] == "203.0.113.44"
    assert access[3]["source"]["ip"] == "127.0.0.1"  # no X-Forwarded-For: the peer
    assert access[-1]["actor"]["id"] == "anonymous"
