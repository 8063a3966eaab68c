"""The WSGI middleware, in memory (testing.capture) and through the Flask example
against a real Trailbook server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, abort
from werkzeug.test import Client as WerkzeugClient

from conftest import RunningServer
from integrations.conftest import load_example, wait_for
from trailbook.integrations.wsgi import TrailbookMiddleware
from trailbook.sdk import Client, current_context
from trailbook.sdk.testing import Captured, capture


@pytest.fixture
def client() -> Iterator[Client]:
    made = Client("http://127.0.0.1:9", "tb_unused", spool=False)
    yield made
    made.close(timeout=0.1)


@pytest.fixture
def events() -> Iterator[Captured]:
    with capture() as captured:
        yield captured


def make_app(client: Client, **options: Any) -> Flask:
    app = Flask(__name__)
    app.wsgi_app = TrailbookMiddleware(app.wsgi_app, client,  # type: ignore[method-assign]
                                       **options)

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        ctx = current_context()
        client.log("page.view", targets=[{"type": "page", "id": "whoami"}])
        return {"actor": dict(ctx.actor or {}), "ip": ctx.ip, "request_id": ctx.request_id,
                "user_agent": ctx.user_agent}

    @app.get("/stream")
    def stream() -> Response:
        def body() -> Iterable[str]:
            for n in range(3):
                client.log("stream.chunk", metadata={"n": n})  # inside the context too
                yield f"{n}\n"
        return Response(body())

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.get("/missing")
    def missing() -> None:
        abort(404)

    return app


def get(app: Flask, path: str, remote: str = "198.51.100.4", **headers: str) -> Any:
    http = WerkzeugClient(app)
    # buffered: the body is read and closed at once, as a WSGI server does
    return http.get(path, headers=headers, environ_base={"REMOTE_ADDR": remote},
                    buffered=True)


def test_context_and_access_event(client: Client, events: Captured) -> None:
    answer = get(make_app(client), "/whoami", **{"User-Agent": "ua", "X-Request-ID": "r-1"})
    assert answer.json == {"actor": {"id": "anonymous", "type": "user", "name": "anonymous"},
                           "ip": "198.51.100.4", "request_id": "r-1", "user_agent": "ua"}
    assert answer.headers["X-Request-ID"] == "r-1"
    access = events.one("http.request")
    assert access["metadata"]["path"] == "/whoami"
    assert access["metadata"]["status"] == 200
    assert access["source"]["ip"] == "198.51.100.4"
    assert access["request_id"] == "r-1"


def test_streamed_body_runs_in_the_context(client: Client, events: Captured) -> None:
    answer = get(make_app(client), "/stream", **{"X-Request-ID": "r-2"})
    assert answer.text == "0\n1\n2\n"
    assert events.actions == ["stream.chunk"] * 3 + ["http.request"]
    assert {e["request_id"] for e in events} == {"r-2"}


def test_skip_paths_failures_and_remote_user(client: Client, events: Captured) -> None:
    app = make_app(client, skip_paths=["/health"])
    get(app, "/health")
    assert get(app, "/missing").status_code == 404
    access = events.one("http.request")
    assert (access["result"], access["metadata"]["status"]) == ("failure", 404)
    http = WerkzeugClient(app)
    answer = http.get("/whoami", environ_base={"REMOTE_ADDR": "10.1.1.1",
                                              "REMOTE_USER": "carol"}, buffered=True)
    assert answer.json["actor"] == {"id": "carol", "name": "carol"}


def test_forwarded_for_needs_a_trusted_peer(client: Client, events: Captured) -> None:
    xff = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}
    assert get(make_app(client), "/whoami", **xff).json["ip"] == "198.51.100.4"
    trusting = make_app(client, trusted_proxies="10.0.0.0/8")
    assert get(trusting, "/whoami", remote="198.51.100.4", **xff).json["ip"] == "198.51.100.4"
    assert get(trusting, "/whoami", remote="10.0.0.2", **xff).json["ip"] == "203.0.113.7"


def test_flask_example_against_a_real_server(server: RunningServer, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAILBOOK_URL", server.base_url)
    monkeypatch.setenv("TRAILBOOK_API_KEY", server.api_key)
    monkeypatch.setenv("TRAILBOOK_SPOOL", str(tmp_path / "spool.db"))
    monkeypatch.setenv("TRAILBOOK_TRUSTED_PROXIES", "127.0.0.1")
    example = load_example("flask_app")
    try:
        http = example.app.test_client()
        alice = {"Authorization": "Bearer alice-token", "X-Forwarded-For": "203.0.113.10",
                 "User-Agent": "flask-test", "X-Request-ID": "req-flask-1"}
        made = http.post("/notes", json={"text": "hi"}, headers=alice, buffered=True)
        assert made.status_code == 201
        note = made.json["id"]
        # Not from a trusted proxy: the forwarded address is ignored.
        assert http.get(f"/notes/{note}", headers={"X-Forwarded-For": "1.2.3.4"},
                        environ_base={"REMOTE_ADDR": "198.51.100.20"},
                        buffered=True).status_code == 200
        assert http.delete(f"/notes/{note}", headers={"Authorization": "Bearer bob-token"},
                           buffered=True).status_code == 204
        assert http.get("/health", buffered=True).status_code == 200
        assert example.client.flush(timeout=30)
    finally:
        example.client.close(timeout=10)

    created = wait_for(server, 1, action="note.create")
    assert len(created) == 1
    assert created[0]["actor"]["id"] == "u-alice"
    assert created[0]["source"]["ip"] == "203.0.113.10"
    assert created[0]["request_id"] == "req-flask-1"
    assert created[0]["changes"] == [{"field": "text", "old": None, "new": "hi"}]
    assert wait_for(server, 1, action="note.delete")[0]["actor"]["id"] == "u-bob"
    access = wait_for(server, 3, action="http.request")
    assert [(e["metadata"]["method"], e["metadata"]["status"], e["source"]["ip"])
            for e in access] == [("POST", 201, "203.0.113.10"), ("GET", 200, "198.51.100.20"),
                                 ("DELETE", 204, "127.0.0.1")]
    assert all(e["metadata"]["path"] != "/health" for e in access)
