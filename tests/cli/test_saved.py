"""`trailbook saved` and `trailbook search --saved` as an operator meets them: a real
process on a data folder made by `trailbook init`; saving, listing and deleting a
user's searches, running one, and the one-line refusals (a taken name, a query that
does not parse, another user's search, a bad option)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import orjson
import pytest

from trailbook.model.event import EventIn
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings

OWNER = "owner@example.com"
CHEAP = {"TRAILBOOK_PASSWORD_HASH_TIME_COST": "1", "TRAILBOOK_PASSWORD_HASH_MEMORY_KIB": "64"}


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir), **CHEAP, "COLUMNS": "250"}
    for name in ("TRAILBOOK_DATABASE_URL", "TRAILBOOK_OWNER_EMAIL",
                 "TRAILBOOK_OWNER_PASSWORD"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def ok(data_dir: Path, *args: str) -> str:
    result = run(data_dir, *args)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())


def refused(data_dir: Path, *args: str) -> str:
    """The one-line error of a command that must exit 1."""
    result = run(data_dir, *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data folder from `trailbook init` (tenant acme, its owner), a second user and
    a few events."""
    data = tmp_path / "data"
    ok(data, "init", "--tenant", "acme")
    with Trailbook.open(load_settings(data_dir=data, password_hash_time_cost=1,
                                      password_hash_memory_kib=64)) as tb:
        acme = tb.tenants.get("acme")
        tb.users.add(acme, "vic@example.com", "Vic", "viewer", "a long staff password 1",
                     by=None, context=CLI)
        raw = [{"action": "user.login", "actor": {"id": "u-1"}, "category": "access",
                "result": "failure" if i % 2 else "success",
                **({"reason": "bad password"} if i % 2 else {})} for i in range(6)]
        raw.append({"action": "miner.reboot", "actor": {"id": "u-2"}, "category": "device",
                    "result": "failure", "reason": "timeout"})
        tb.events.ingest(acme, msgspec.convert(raw, list[EventIn]))
    return data


def test_save_list_run_and_delete(home: Path) -> None:
    out = ok(home, "saved", "add", "Failed logins", "action:user.login result:failure",
             "--param", "category=access", "--user", OWNER)
    assert out == f"saved search 1 'Failed logins' for {OWNER}"
    ok(home, "saved", "add", "Everything", "--user", OWNER, "--tenant", "acme")

    listed = ok(home, "saved", "list", "--user", OWNER)
    assert "Failed logins" in listed and "action:user.login result:failure" in listed
    assert "category=access" in listed and listed.index("Everything") < listed.index(
        "Failed logins")
    as_json = orjson.loads(ok(home, "saved", "list", "--user", OWNER, "--json"))
    assert [(s["id"], s["name"], s["params"], s["url"]) for s in as_json["saved_searches"]
            ] == [(2, "Everything", {}, "/logs"),
                  (1, "Failed logins", {"category": ["access"]},
                   "/logs?query=action%3Auser.login+result%3Afailure&category=access")]
    # Another user has none of them.
    assert ok(home, "saved", "list", "--user", "vic@example.com") == (
        "vic@example.com has no saved searches")

    # Running one, by its name in any case.
    page = orjson.loads(ok(home, "search", "--saved", "FAILED LOGINS", "--user", OWNER,
                           "--json"))
    assert [(e["action"], e["result"]) for e in page["events"]] == [
        ("user.login", "failure")] * 3

    assert "Vic" not in refused(home, "saved", "delete", "1", "--user", "vic@example.com")
    assert ok(home, "saved", "delete", "1", "--user", OWNER) == (
        f"deleted saved search 1 'Failed logins' of {OWNER}")
    assert "no saved search of that id" in refused(home, "saved", "delete", "1", "--user",
                                                   OWNER)
    assert "Failed logins" not in ok(home, "saved", "list", "--user", OWNER)


def test_refusals_are_one_line(home: Path) -> None:
    ok(home, "saved", "add", "Reboots", "action:miner.reboot", "--user", OWNER)
    assert "name: 'reboots' is taken" in refused(home, "saved", "add", "reboots", "",
                                                 "--user", OWNER)
    assert "position 8" in refused(home, "saved", "add", "Broken", 'action:"broken',
                                   "--user", OWNER)
    assert "colour" in refused(home, "saved", "add", "Odd", "", "--param", "colour=red",
                               "--user", OWNER)
    assert "KEY=VALUE" in refused(home, "saved", "add", "Odd", "", "--param", "last",
                                  "--user", OWNER)
    assert "no user" in refused(home, "saved", "list", "--user", "nobody@example.com"
                                ).lower()
    assert "no saved search of that name" in refused(home, "search", "--saved", "Nope",
                                                     "--user", OWNER)
    assert "--user" in refused(home, "search", "--saved", "Reboots")
    assert "leave out the query" in refused(home, "search", "result:failure", "--saved",
                                            "Reboots", "--user", OWNER)
    assert "leave out the query" in refused(home, "search", "--last", "1h", "--saved",
                                            "Reboots", "--user", OWNER)
    # Nothing was stored by the refusals.
    assert "Reboots" in ok(home, "saved", "list", "--user", OWNER)
    assert "Broken" not in ok(home, "saved", "list", "--user", OWNER)
