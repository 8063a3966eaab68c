"""`trailbook logs`: list, tail, level, rotation and delete from the command line,
through the same service as the API (changes and deletions audited in every tenant's
admin category with the CLI as actor)."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from cli.cli_runner import run
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def test_logs_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "init", "--tenant", "acme").returncode == 0
    logs = data / "logs"
    logs.mkdir()
    (logs / "auth.log").write_text(
        "2026-11-23T10:00:00.000000Z INFO [1] trailbook.auth: signed in\n"
        "2026-11-23T10:00:01.000000Z WARN [1] trailbook.auth: failed sign-in\n")
    rotated = logs / "auth.2026-11-22.1.log.gz"
    with gzip.open(rotated, "wt") as handle:
        handle.write("2026-11-22T10:00:00.000000Z INFO [1] trailbook.auth: older\n")

    level = run(data, "logs", "level", "auth", "debug")
    assert level.returncode == 0, level.stderr
    assert "auth logs at DEBUG" in level.stdout
    listed = run(data, "logs", "list")
    assert "auth=DEBUG" in listed.stdout and "auth.2026-11-22.1.log.gz" in listed.stdout
    tail = run(data, "logs", "tail", "auth.log", "--level", "WARN")
    assert tail.stdout.strip().endswith("failed sign-in") and "signed in" not in tail.stdout
    refused = run(data, "logs", "tail", "../signing-key.pem")
    assert refused.returncode == 1 and "no such log file" in refused.stderr
    assert run(data, "logs", "delete", "auth.log").returncode == 1  # live
    deleted = run(data, "logs", "delete", rotated.name)
    assert deleted.returncode == 0, deleted.stderr
    assert not rotated.exists()
    assert run(data, "logs", "rotation", "--max-bytes", "5000", "--keep", "2").returncode == 0
    assert run(data, "logs", "level", "nowhere", "INFO").returncode == 1

    with Trailbook.open(load_settings(data_dir=data)) as tb:
        tenant = tb.tenants.get("acme")
        found = tb.events.search(tenant, EventFilter(categories=("admin",)), None, 50).events
        docs = [orjson.loads(e.doc) for e in found]
    audited = [(d["action"], d["actor"]["id"]) for d in docs
               if d["action"].startswith("server_log.")]
    assert sorted(audited) == [("server_log.delete", "cli"), ("server_log.settings", "cli"),
                               ("server_log.settings", "cli")]
