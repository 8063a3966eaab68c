"""/api/v1/server-logs: who may read, delete and change the server logs; a deleted
file is gone and its deletion is in the tenant's ``admin`` trail; a live file cannot be
deleted; names outside the folder's listing (path traversal) are refused; the tail
filters by level; a level change through the API takes effect at once."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.logs.setup import install, uninstall
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

ROTATED = "application.2026-11-22.1.log.gz"
RECORDS = ("2026-11-22T10:00:00.000000Z INFO [1] trailbook.web: started\n"
           "2026-11-22T10:00:01.000000Z WARN [1] trailbook.web: slow page\n"
           "2026-11-22T10:00:02.000000Z DEBUG [1] trailbook.web: detail\n")


@pytest.fixture
def folder(tb: Trailbook) -> Iterator[Path]:
    """The logs folder, with a rotated copy and the server logs installed."""
    installed = install(tb.settings)
    logging.getLogger("trailbook.web").warning("live warning")
    with gzip.open(installed.folder / ROTATED, "wt") as handle:
        handle.write(RECORDS)
    yield installed.folder
    uninstall()


@pytest.fixture
def app(tb: Trailbook) -> FastAPI:
    return create_app(tb)


@pytest.fixture
def staff(tb: Trailbook, tenant: Tenant, app: FastAPI, folder: Path
          ) -> Iterator[dict[str, TestClient]]:
    clients = {}
    for role in ("owner", "auditor", "viewer"):
        add_user(tb, tenant, f"{role}@acme.example", role)
        clients[role] = sign_in(app, f"{role}@acme.example")
    yield clients
    for http in clients.values():
        http.close()


def _admin_events(tb: Trailbook, tenant: Tenant, action: str) -> list[dict[str, Any]]:
    found = tb.events.search(tenant, EventFilter(categories=("admin",)), None, 100).events
    docs = [orjson.loads(e.doc) for e in found]
    return [d for d in docs if d["action"] == action]


def test_listing_shows_files_levels_and_rotation(staff: dict[str, TestClient]) -> None:
    answer = staff["auditor"].get("/api/v1/server-logs")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    files = {f["name"]: f for f in body["files"]}
    assert files["application.log"]["kind"] == "live"
    assert files[ROTATED]["kind"] == "rotated" and files[ROTATED]["area"] == "application"
    assert files[ROTATED]["rotated_on"] == "2026-11-22"
    assert body["levels"]["notify"] == "INFO" and set(body["levels"]) == set(body["areas"])
    assert body["max_bytes"] == 100 * 1024 * 1024 and body["keep"] == 10
    assert "access.log" in files  # this very request was logged
    assert "/api/v1/server-logs" in staff["auditor"].get(
        "/api/v1/server-logs/access.log/tail").text


def test_who_may_read_delete_and_change(staff: dict[str, TestClient], folder: Path) -> None:
    viewer, auditor = staff["viewer"], staff["auditor"]
    for method, path in (("GET", "/api/v1/server-logs"),
                         ("GET", "/api/v1/server-logs/application.log"),
                         ("GET", "/api/v1/server-logs/application.log/tail")):
        answer = viewer.request(method, path)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
    assert auditor.get("/api/v1/server-logs/application.log/tail").status_code == 200
    assert auditor.delete(f"/api/v1/server-logs/{ROTATED}").status_code == 403
    assert auditor.patch("/api/v1/server-logs/settings",
                         json={"levels": {"notify": "DEBUG"}}).status_code == 403
    assert (folder / ROTATED).exists()
    assert not (folder / "log-settings.json").exists()


def test_download_and_tail_with_a_level(staff: dict[str, TestClient]) -> None:
    owner = staff["owner"]
    got = owner.get(f"/api/v1/server-logs/{ROTATED}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/gzip"
    assert gzip.decompress(got.content).decode() == RECORDS
    live = owner.get("/api/v1/server-logs/application.log")
    assert "live warning" in live.text and "attachment" in live.headers["content-disposition"]
    warned = owner.get(f"/api/v1/server-logs/{ROTATED}/tail?level=WARN&lines=10").json()
    assert [r["text"].rsplit(": ", 1)[1] for r in warned["records"]] == ["slow page"]
    everything = owner.get(f"/api/v1/server-logs/{ROTATED}/tail?level=trace").json()
    assert [r["level"] for r in everything["records"]] == ["INFO", "WARN", "DEBUG"]
    last = owner.get(f"/api/v1/server-logs/{ROTATED}/tail?lines=1").json()
    assert last["count"] == 1 and last["records"][0]["text"].endswith("detail")
    for bad in ("lines=0", "lines=5001", "level=LOUD"):
        assert owner.get(f"/api/v1/server-logs/{ROTATED}/tail?{bad}").status_code == 422


@pytest.mark.parametrize("name", [
    "..%2F..%2Fsigning-key.pem", "..%2Fdata%2Ftrailbook.db", "log-settings.json",
    ".rotate.lock", "%2Fetc%2Fpasswd", "application.log%00", "nosuch.log",
    "application.2026-11-22.9.log.gz", "APPLICATION.LOG",
])
def test_names_outside_the_listing_are_refused(staff: dict[str, TestClient],
                                               folder: Path, name: str) -> None:
    owner = staff["owner"]
    for method, path in (("GET", f"/api/v1/server-logs/{name}"),
                         ("GET", f"/api/v1/server-logs/{name}/tail"),
                         ("DELETE", f"/api/v1/server-logs/{name}")):
        answer = owner.request(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
    assert (folder / "log-settings.json").exists() is False
    assert folder.parent.joinpath("signing-key.pem").exists()


def test_a_deleted_file_is_gone_and_audited(staff: dict[str, TestClient], folder: Path,
                                            tb: Trailbook, tenant: Tenant) -> None:
    owner = staff["owner"]
    live = owner.delete("/api/v1/server-logs/application.log")
    assert live.status_code == 409, live.text
    assert live.json()["error"]["code"] == "conflict"
    assert owner.delete(f"/api/v1/server-logs/{ROTATED}").status_code == 204
    assert not (folder / ROTATED).exists()
    names = [f["name"] for f in owner.get("/api/v1/server-logs").json()["files"]]
    assert ROTATED not in names
    assert owner.delete(f"/api/v1/server-logs/{ROTATED}").status_code == 404
    [event] = _admin_events(tb, tenant, "server_log.delete")
    assert event["targets"][0]["id"] == ROTATED
    assert event["actor"]["email"] == "owner@acme.example"
    assert event["action_type"] == "delete"


def test_settings_change_takes_effect_and_is_audited(
    staff: dict[str, TestClient], folder: Path, tb: Trailbook, tenant: Tenant
) -> None:
    owner = staff["owner"]
    log = logging.getLogger("trailbook.notify")
    log.debug("before the change")
    answer = owner.patch("/api/v1/server-logs/settings",
                         json={"levels": {"notify": "debug"}, "max_bytes": 2_000_000,
                               "keep": 4})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"levels": {**dict.fromkeys(
        ("application", "access", "ingest", "notify", "scheduler", "database", "auth"),
        "INFO"), "notify": "DEBUG"}, "max_bytes": 2_000_000, "keep": 4}
    log.debug("after the change")
    text = (folder / "notify.log").read_text()
    assert "after the change" in text and "before the change" not in text
    [event] = _admin_events(tb, tenant, "server_log.settings")
    changes = {c["field"]: (c["old"], c["new"]) for c in event["changes"]}
    assert changes == {"level.notify": ("INFO", "DEBUG"), "max_bytes": (104857600, 2000000),
                       "keep": (10, 4)}
    # The same again changes nothing, and audits nothing.
    assert owner.patch("/api/v1/server-logs/settings",
                       json={"levels": {"notify": "DEBUG"}}).status_code == 200
    assert len(_admin_events(tb, tenant, "server_log.settings")) == 1
    listed = owner.get("/api/v1/server-logs").json()
    assert listed["levels"]["notify"] == "DEBUG" and listed["keep"] == 4


def test_bad_settings_are_refused_whole(staff: dict[str, TestClient], folder: Path) -> None:
    answer = staff["owner"].patch("/api/v1/server-logs/settings", json={
        "levels": {"notify": "DEBUG", "nowhere": "INFO", "auth": "LOUD"}, "keep": -1})
    assert answer.status_code == 422, answer.text
    fields = {d["field"] for d in answer.json()["error"]["details"]}
    assert fields == {"levels.nowhere", "levels.auth", "keep"}
    listed = staff["owner"].get("/api/v1/server-logs").json()
    assert listed["levels"]["notify"] == "INFO"


def test_lowering_keep_removes_the_oldest_copies(staff: dict[str, TestClient],
                                                 folder: Path, tb: Trailbook,
                                                 tenant: Tenant) -> None:
    for n in (2, 3, 4):
        with gzip.open(folder / f"application.2026-11-23.{n}.log.gz", "wt") as handle:
            handle.write(RECORDS)
    answer = staff["owner"].patch("/api/v1/server-logs/settings", json={"keep": 2})
    assert answer.status_code == 200, answer.text
    left = sorted(p.name for p in folder.glob("application.*.gz"))
    assert left == ["application.2026-11-23.3.log.gz", "application.2026-11-23.4.log.gz"]
    [event] = _admin_events(tb, tenant, "server_log.settings")
    removed = next(c for c in event["changes"] if c["field"] == "removed_files")
    assert sorted(removed["old"]) == [ROTATED, "application.2026-11-23.2.log.gz"]
