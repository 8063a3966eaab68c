"""Background export jobs (/api/v1/exports/jobs), on both backends: an export over
``export_background_rows`` becomes a job whose file, once done, holds what the streamed
export holds and verifies offline against its manifest; jobs are their starter's own;
a browser is sent to the exports page; cancelling, removing, and the upkeep that fails
jobs a stopped process left behind and removes expired ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import CHEAP_PASSWORDS, minimal_event, setup_key
from trailbook.integrity.export_check import check_export, read_manifest
from trailbook.model.timefmt import now_us
from trailbook.service.app import Trailbook
from trailbook.service.export.jobs import STOPPED
from trailbook.settings import load_settings
from trailbook.store.records import ExportJob

EXPORTS = "/api/v1/exports"
JOBS = "/api/v1/exports/jobs"
THRESHOLD = 3


@pytest.fixture
def tb(data_dir: Path, database_url: str | None) -> Iterator[Trailbook]:
    instance = Trailbook.open(load_settings(
        data_dir=data_dir, database_url=database_url, checkpoint_every_events=100,
        export_background_rows=THRESHOLD, **CHEAP_PASSWORDS))
    yield instance
    instance.close()


@pytest.fixture
def events(client: TestClient) -> None:
    batch = [minimal_event(action=f"miner.reboot.{i}", description=f"row {i}, \"q\"",
                           occurred_at=f"2026-03-01T12:0{i}:00Z") for i in range(5)]
    answer = client.post("/api/v1/events", json=batch)
    assert answer.status_code == 201, answer.text


def finished(http: TestClient, job: dict[str, Any]) -> dict[str, Any]:
    """The job once it has ended (polled as a client would)."""
    deadline = time.monotonic() + 30
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        answer = http.get(job["links"]["self"])
        assert answer.status_code == 200, answer.text
        job = answer.json()
    return job


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ndjson"])
def test_a_large_export_becomes_a_job_whose_file_verifies(
        tb: Trailbook, client: TestClient, events: None, fmt: str, tmp_path: Path) -> None:
    answer = client.get(EXPORTS, params={"format": fmt, "query": "category:general"})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"{JOBS}/{job['id']}"
    assert job["format"] == fmt and job["query"] == "category:general"
    assert job["total"] == 5
    job = finished(client, job)
    assert job["state"] == "done", job
    assert (job["rows"], job["percent"]) == (5, 100.0)
    assert job["filename"].endswith(f".{fmt}")

    content = client.get(job["links"]["file"])
    assert content.status_code == 200
    assert job["filename"] in content.headers["content-disposition"]
    streamed = client.get(EXPORTS, params={"format": fmt, "query": "category:general",
                                           "background": "false"})
    assert streamed.status_code == 200
    if fmt != "xlsx":  # an .xlsx zip holds its own times of writing
        assert content.content == streamed.content
    manifest = client.get(job["links"]["manifest"])
    assert manifest.status_code == 200
    path = tmp_path / job["filename"]
    path.write_bytes(content.content)
    doc = read_manifest(manifest.content)
    assert doc["manifest"]["export_id"] == job["id"]
    assert doc["manifest"]["file"]["name"] == job["filename"]
    assert doc["manifest"]["file"]["sha256"] == job["sha256"]
    report = check_export(path, doc, {tb.signer.key_id: tb.signer.public})
    assert report.ok, report.problems
    # The job's export was audited once, under its id.
    audits = client.get("/api/v1/events", params={"action": "export.run"}).json()["events"]
    assert [a["metadata"]["export_id"] for a in audits].count(job["id"]) == 1


def test_small_exports_stream_and_background_chooses(client: TestClient,
                                                     events: None) -> None:
    small = client.get(EXPORTS, params={"format": "csv", "action": "miner.reboot.1"})
    assert small.status_code == 200 and small.content.count(b"\r\n") == 2
    forced = client.get(EXPORTS, params={"format": "csv", "action": "miner.reboot.1",
                                         "background": "true"})
    assert forced.status_code == 202
    assert finished(client, forced.json())["rows"] == 1
    posted = client.post(JOBS, params={"format": "json", "action": "miner.reboot.2"})
    assert posted.status_code == 202
    assert finished(client, posted.json())["rows"] == 1
    listed = client.get(JOBS).json()["jobs"]
    assert [j["id"] for j in listed][:2] == [posted.json()["id"], forced.json()["id"]]


def test_bad_input_starts_no_job(client: TestClient, events: None) -> None:
    for params in ({"format": "pdf"}, {"format": "csv", "query": "severity:bogus"},
                   {"format": "csv", "tz": "Mars/Olympus"}):
        answer = client.get(EXPORTS, params={**params, "background": "true"})
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["error"]["details"][0]["field"] in ("format", "query", "tz")
    assert client.post(JOBS, params={"format": "pdf"}).status_code == 422
    assert client.get(JOBS).json()["jobs"] == []


def test_a_browser_is_sent_to_the_exports_page(client: TestClient, events: None) -> None:
    answer = client.get(EXPORTS, params={"format": "csv"}, follow_redirects=False,
                        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert answer.status_code == 303
    job_id = answer.headers["location"].removeprefix("/exports?job=")
    assert client.get(f"{JOBS}/{job_id}").status_code == 200


def test_jobs_are_their_starters_own(tb: Trailbook, client: TestClient,
                                     events: None) -> None:
    job = finished(client, client.post(JOBS, params={"format": "csv"}).json())
    tenant = tb.tenants.get("acme")
    other_key = setup_key(tb, tenant, name="other")
    other_tenant = tb.tenants.create("globex")
    stranger = setup_key(tb, other_tenant)
    for key in (other_key, stranger):
        for path in (job["links"]["self"], job["links"]["file"], job["links"]["manifest"]):
            answer = client.get(path, headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 404, (path, answer.text)
        assert client.get(JOBS, headers={"Authorization": f"Bearer {key}"}).json() == {
            "jobs": []}
    ingest_only = setup_key(tb, tenant, ("ingest",), name="ingest-only")
    assert client.get(JOBS, headers={"Authorization": f"Bearer {ingest_only}"}
                      ).status_code == 403


def test_running_job_refuses_download_and_can_be_cancelled(
        tb: Trailbook, client: TestClient, events: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    start = tb.exports.start

    def held(*args: Any, **kwargs: Any) -> Any:
        export = start(*args, **kwargs)
        chunks = export.chunks

        def slow() -> Iterator[bytes]:
            for chunk in chunks:
                gate.wait(10)
                yield chunk
        return type(export)(export.id, export.format, export.filename, slow(),
                            export.progress)

    monkeypatch.setattr(tb.exports, "start", held)
    job = client.post(JOBS, params={"format": "csv"}).json()
    for link in ("file", "manifest"):
        answer = client.get(f"{job['links']['self']}/{link}")
        assert answer.status_code == 409, answer.text
        assert "not done yet" in answer.json()["error"]["message"]
    cancelled = client.delete(job["links"]["self"])
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    gate.set()
    ended = finished(client, cancelled.json())
    assert ended["state"] == "cancelled" and ended["error"] == "cancelled by its owner"
    path = Path(tb.store.export_jobs.get(tenant_id_of(tb), f"key:{key_id(tb)}",
                                         job["id"]).path)  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists()
    # A finished job is removed with its file.
    assert client.delete(job["links"]["self"]).status_code == 200
    assert client.get(job["links"]["self"]).status_code == 404


def tenant_id_of(tb: Trailbook) -> int:
    tenant = tb.tenants.get("acme")
    assert tenant is not None
    return tenant.id


def key_id(tb: Trailbook) -> int:
    return tb.store.accounts.list_api_keys(tenant_id_of(tb))[0].id


def test_upkeep_fails_abandoned_jobs_and_removes_expired_ones(
        tb: Trailbook, client: TestClient, events: None) -> None:
    done = finished(client, client.post(JOBS, params={"format": "csv"}).json())
    tenant_id, owner = tenant_id_of(tb), f"key:{key_id(tb)}"
    stored = tb.store.export_jobs.get(tenant_id, owner, done["id"])
    assert stored is not None and Path(stored.path).exists()
    # A job some other process was running when it stopped: silent for long.
    folder = Path(stored.path).parent
    left = folder / "left.csv"
    left.write_bytes(b"partial")
    long_ago = now_us() - 3_600_000_000
    tb.store.export_jobs.add(ExportJob(
        "0" * 32, tenant_id, owner, "csv", None, {"filter": {}}, "UTC", "running", 10, 4,
        7, "left.csv", str(left), None, None, "2026-01-01T00:00:00.000000Z", None, None,
        now_us() + 3_600_000_000, long_ago))
    tb.export_jobs.upkeep()
    failed = client.get(f"{JOBS}/{'0' * 32}").json()
    assert failed["state"] == "failed" and failed["error"] == STOPPED
    assert not left.exists()
    assert client.get(done["links"]["self"]).json()["state"] == "done"  # its own: kept

    # Past their time, finished jobs go with their files.
    assert tb.export_jobs.sweep() == 0  # nothing has expired yet
    assert client.get(done["links"]["self"]).status_code == 200
    tb.store.export_jobs.remove([done["id"]])
    tb.store.export_jobs.add(ExportJob(**{**_fields(stored), "expires_us": now_us() - 1}))
    assert tb.export_jobs.sweep() == 1
    assert client.get(done["links"]["self"]).status_code == 404
    assert not Path(stored.path).exists()


def _fields(job: ExportJob) -> dict[str, Any]:
    return {name: getattr(job, name) for name in ExportJob.__slots__}  # type: ignore[attr-defined]
