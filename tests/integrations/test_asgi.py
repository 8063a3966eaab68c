"""The ASGI middleware, in memory (testing.capture) and through the FastAPI example
against a real Trailbook server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from conftest import RunningServer
from integrations.conftest import load_example, wait_for
from trailbook.integrations.asgi import TrailbookMiddleware
from trailbook.sdk import Client, current_context
from trailbook.sdk.testing import Captured, capture


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    made = Client("http://127.0.0.1:9", "tb_unused", spool=False)
    yield made
    made.close(timeout=0.1)


@pytest.fixture
def events() -> Iterator[Captured]:
    with capture() as captured:
        yield captured


def make_app(client: Client, **options: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(TrailbookMiddleware, client=client, **options)

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        ctx = current_context()
        client.log("page.view", targets=[{"type": "page", "id": "whoami"}])
        return {"actor": dict(ctx.actor or {}), "ip": ctx.ip, "request_id": ctx.request_id,
                "user_agent": ctx.user_agent}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/missing")
    def missing() -> None:
        raise HTTPException(404)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    return app


def test_context_and_access_event(client: Client, events: Captured) -> None:
    http = TestClient(make_app(client), client=("198.51.100.4", 5000))
    answer = http.get("/whoami?secret=1", headers={"User-Agent": "pytest-ua",
                                                   "X-Request-ID": "req-abc"})
    body = answer.json()
    assert body == {"actor": {"id": "anonymous", "type": "user", "name": "anonymous"},
                    "ip": "198.51.100.4", "request_id": "req-abc", "user_agent": "pytest-ua"}
    assert answer.headers["X-Request-ID"] == "req-abc"
    view = events.one("page.view")
    assert view["source"]["ip"] == "198.51.100.4"
    assert view["request_id"] == "req-abc"
    access = events.one("http.request")
    assert access["category"] == "access"
    assert access["result"] == "success"
    assert access["metadata"]["method"] == "GET"
    assert access["metadata"]["path"] == "/whoami"  # never the query string
    assert access["metadata"]["status"] == 200
    assert access["metadata"]["duration_ms"] >= 0
    assert access["source"]["ip"] == "198.51.100.4"
    assert access["source"]["user_agent"] == "pytest-ua"
    assert access["request_id"] == "req-abc"


def test_made_request_id_and_skip_paths(client: Client, events: Captured) -> None:
    http = TestClient(make_app(client, skip_paths=["/health"]), client=("127.0.0.1", 1))
    first = http.get("/whoami", headers={"X-Request-ID": "bad id with spaces"})
    assert first.headers["X-Request-ID"] != "bad id with spaces"
    assert first.json()["request_id"] == first.headers["X-Request-ID"]
    http.get("/health")
    assert events.actions == ["page.view", "http.request"]


def test_failures_are_logged(client: Client, events: Captured) -> None:
    http = TestClient(make_app(client), client=("127.0.0.1", 1),
                      raise_server_exceptions=False)
    assert http.get("/missing").status_code == 404
    assert http.get("/boom").status_code == 500
    missing, boom = events.find("http.request")
    assert (missing["result"], missing["reason"], missing["metadata"]["status"]) == \
        ("failure", "HTTP 404", 404)
    assert (boom["severity"], boom["metadata"]["status"]) == ("warning", 500)


def test_log_requests_off(client: Client, events: Captured) -> None:
    http = TestClient(make_app(client, log_requests=False), client=("127.0.0.1", 1))
    http.get("/whoami")
    assert events.actions == ["page.view"]


def test_forwarded_for_needs_a_trusted_peer(client: Client, events: Captured) -> None:
    headers = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}
    untrusted = TestClient(make_app(client), client=("198.51.100.4", 1))
    assert untrusted.get("/whoami", headers=headers).json()["ip"] == "198.51.100.4"
    trusted = TestClient(make_app(client, trusted_proxies=["10.0.0.0/8"]),
                         client=("10.0.0.5", 1))
    assert trusted.get("/whoami", headers=headers).json()["ip"] == "203.0.113.7"
    assert events.find("http.request")[-1]["source"]["ip"] == "203.0.113.7"


def test_user_callable_sync_async_and_starlette_user(client: Client, events: Captured) -> None:
    async def user(scope: Any) -> dict[str, Any] | None:
        return {"id": "u-7", "name": "Seven"}

    http = TestClient(make_app(client, user=user), client=("127.0.0.1", 1))
    assert http.get("/whoami").json()["actor"] == {"id": "u-7", "name": "Seven"}
    assert events.find("http.request")[-1]["actor"]["id"] == "u-7"

    class StarletteUser:
        is_authenticated = True
        identity = "u-8"
        display_name = "Eight"

    def with_user(app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            scope["user"] = StarletteUser()
            await app(scope, receive, send)
        return wrapped

    inner = make_app(client)
    outer = with_user(inner)
    # The middleware sits inside: it sees scope["user"] set by the outer one.
    assert TestClient(outer, client=("127.0.0.1", 1)).get("/whoami").json()["actor"] == \
        {"id": "u-8", "name": "Eight"}


def test_importing_asgi_loads_no_other_framework() -> None:
    code = ("import sys, trailbook.integrations.asgi, trailbook.integrations.proxies; "
            "bad = [m for m in ('django', 'flask', 'werkzeug') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_fastapi_example_against_a_real_server(server: RunningServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAILBOOK_URL", server.base_url)
    monkeypatch.setenv("TRAILBOOK_API_KEY", server.api_key)
    monkeypatch.setenv("TRAILBOOK_SPOOL", str(tmp_path / "spool.db"))
    monkeypatch.setenv("TRAILBOOK_TRUSTED_PROXIES", "127.0.0.1")
    example = load_example("fastapi_app")
    try:
        http = TestClient(example.app, client=("127.0.0.1", 40000))
        alice = {"Authorization": "Bearer alice-token", "X-Forwarded-For": "203.0.113.9",
                 "User-Agent": "example-test", "X-Request-ID": "req-fastapi-1"}
        made = http.post("/notes", json={"text": "hello"}, headers=alice)
        assert made.status_code == 201
        note = made.json()["id"]
        assert http.get(f"/notes/{note}").status_code == 200  # anonymous
        assert http.delete(f"/notes/{note}", headers={"Authorization": "Bearer bob-token"}
                           ).status_code == 204
        assert http.get("/health").status_code == 200
        assert example.client.flush(timeout=30)
    finally:
        example.client.close(timeout=10)

    created = wait_for(server, 1, action="note.create")
    assert len(created) == 1
    event = created[0]
    assert event["actor"]["id"] == "u-alice"
    assert event["actor"]["email"] == "alice@example.com"
    assert event["source"]["ip"] == "203.0.113.9"
    assert event["source"]["user_agent"] == "example-test"
    assert event["request_id"] == "req-fastapi-1"
    assert event["changes"] == [{"field": "text", "old": None, "new": "hello"}]
    deleted = wait_for(server, 1, action="note.delete")
    assert deleted[0]["actor"]["id"] == "u-bob"
    access = wait_for(server, 3, action="http.request")
    assert [(e["metadata"]["method"], e["metadata"]["status"], e["actor"]["id"])
            for e in access] == [("POST", 201, "u-alice"), ("GET", 200, "anonymous"),
                                 ("DELETE", 204, "u-bob")]
    assert all(e["metadata"]["path"] != "/health" for e in access)
    assert access[0]["category"] == "access"
    assert access[0]["request_id"] == "req-fastapi-1"
