"""The ``trailbook`` command as a user meets it: a real process, a data folder given by
TRAILBOOK_DATA_DIR, exit codes and what is printed. State is prepared in-process where
that is not what the test is about, to keep the number of processes modest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from conftest import minimal_event
from trailbook.errors import Unauthenticated
from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def run(data_dir: Path, *args: str, columns: int | None = None,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir), **(env_extra or {})}
    env.pop("COLUMNS", None)
    if columns is not None:  # tables are cut to the terminal width; make it wide
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def flat(text: str) -> str:
    return " ".join(text.split())


def open_tb(data_dir: Path) -> Trailbook:
    return Trailbook.open(load_settings(data_dir=data_dir))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data folder holding one tenant, acme (made in-process)."""
    data = tmp_path / "data"
    with open_tb(data) as tb:
        tb.tenants.create("acme")
    return data


def stored_count(data_dir: Path, tenant: str = "acme") -> int:
    with open_tb(data_dir) as tb:
        head = tb.store.chain_head(tb.tenants.get(tenant).id)
        return head.seq if head else 0


def search_json(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    result = run(data_dir, "search", "--json", "--limit", "500", *args)
    assert result.returncode == 0, result.stderr
    page = orjson.loads(result.stdout)
    assert page["next_cursor"] is None
    events: list[dict[str, Any]] = page["events"]
    return events


def write_ndjson(path: Path, lines: list[object]) -> Path:
    """Each item a JSON line; a str is written as it is (bad JSON, blank lines)."""
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


# -- init -----------------------------------------------------------------------------


def test_init_prints_a_key_once_and_refuses_a_second_init(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run(data, "init", "--tenant", "acme")
    assert first.returncode == 0, first.stderr
    keys = [line.strip() for line in first.stdout.splitlines() if line.strip().startswith("tb_")]
    assert len(keys) == 1
    assert (data / "trailbook.db").exists()
    assert (data / "signing-key.pem").exists()
    with open_tb(data) as tb:  # the printed key is a working key of tenant acme
        principal = tb.keys.authenticate(keys[0])
        assert principal.tenant.name == "acme"
        assert set(principal.key.scopes) == {"ingest", "read"}

    second = run(data, "init", "--tenant", "acme")
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith("error:")
    assert "acme" in lines[0]
    assert "Traceback" not in second.stderr
    assert "tb_" not in second.stdout


# -- ingest ---------------------------------------------------------------------------


def test_ingest_valid_file(home: Path, tmp_path: Path) -> None:
    lines = [minimal_event(action="user.login", actor={"id": f"ingest-{i}"}) for i in range(5)]
    lines.append(minimal_event(action="client.bill.update", category="client",
                               description="bill fixed"))
    result = run(home, "ingest", str(write_ndjson(tmp_path / "ok.ndjson", lines)))
    assert result.returncode == 0, result.stderr
    assert "stored 6 events" in flat(result.stdout)
    found = search_json(home)
    assert sorted(e["actor"]["id"] for e in found) == sorted(
        [f"ingest-{i}" for i in range(5)] + ["u-1"])
    assert sorted(e["seq"] for e in found) == [1, 2, 3, 4, 5, 6]
    assert all(e["tenant"] == "acme" and len(e["hash"]) == 64 for e in found)


def _mixed_file(path: Path) -> Path:
    return write_ndjson(path, [
        minimal_event(actor={"id": "line-1"}),                   # 1
        minimal_event(actor={"id": "line-2"}),                   # 2
        '{"action": "user.login", "actor": {"id": "x"',          # 3: bad JSON
        "",                                                      # 4: blank, allowed
        minimal_event(actor={"id": "line-5"}, colour="red"),     # 5: unknown field
        minimal_event(actor={"id": "line-6"}),                   # 6
        "   ",                                                   # 7: blank, allowed
        minimal_event(action="User Login!", actor={"id": "x"}),  # 8: bad action
        minimal_event(actor={"id": "line-9"}),                   # 9
    ])


def test_ingest_file_with_invalid_lines_stores_nothing(home: Path, tmp_path: Path) -> None:
    result = run(home, "ingest", str(_mixed_file(tmp_path / "mixed.ndjson")))
    assert result.returncode == 1
    err = result.stderr
    by_line = {line.split(":", 1)[0]: line for line in err.splitlines()
               if line.startswith("line ")}
    assert set(by_line) == {"line 3", "line 5", "line 8"}, err
    assert "JSON" in by_line["line 3"]
    assert "colour" in by_line["line 5"] and "unknown field" in by_line["line 5"]
    assert "action" in by_line["line 8"]
    assert "nothing stored" in flat(err)
    assert "Traceback" not in err

    verify = run(home, "verify")
    assert verify.returncode == 0
    assert "0 events" in flat(verify.stdout)


def test_ingest_skip_invalid_stores_the_valid_lines(home: Path, tmp_path: Path) -> None:
    result = run(home, "ingest", "--skip-invalid", str(_mixed_file(tmp_path / "mixed.ndjson")))
    assert result.returncode == 0, result.stderr
    reported = sorted(line.split(":", 1)[0] for line in result.stderr.splitlines()
                      if line.startswith("line "))
    assert reported == ["line 3", "line 5", "line 8"], result.stderr
    assert "stored 4 events" in flat(result.stdout)
    assert "skipped 3 invalid" in flat(result.stdout)
    found = search_json(home)
    assert sorted(e["actor"]["id"] for e in found) == ["line-1", "line-2", "line-6", "line-9"]


def test_skip_invalid_names_lines_beyond_the_first_batch(home: Path, tmp_path: Path) -> None:
    # Files are validated in batches of BULK_BATCH (5000) lines: line numbers of invalid
    # lines in later batches must still be the file's own.
    bad = {3: "Bad!", 5004: "Also Bad", 6100: "x..y"}
    lines: list[object] = []
    for n in range(1, 6201):
        if n == 5002:
            lines.append("{oops")
        else:
            lines.append(minimal_event(action=bad.get(n, "user.login"), actor={"id": f"l{n}"}))
    result = run(home, "ingest", "--skip-invalid", str(write_ndjson(tmp_path / "big.ndjson",
                                                                     lines)))
    assert result.returncode == 0, result.stderr
    reported = [line.split(":", 1)[0] for line in result.stderr.splitlines()
                if line.startswith("line ")]
    assert reported == ["line 3", "line 5002", "line 5004", "line 6100"]
    assert "stored 6,196 events" in flat(result.stdout)
    assert stored_count(home) == 6196


@pytest.mark.parametrize("processes", ["0", "1"])
def test_ingest_with_a_chosen_number_of_validation_processes(
    home: Path, tmp_path: Path, processes: str
) -> None:
    lines = [minimal_event(actor={"id": f"p{n}"}) for n in range(5200)]
    result = run(home, "ingest", str(write_ndjson(tmp_path / "two-batches.ndjson", lines)),
                 env_extra={"TRAILBOOK_INGEST_PROCESSES": processes})
    assert result.returncode == 0, result.stderr
    assert "stored 5,200 events" in flat(result.stdout)
    assert stored_count(home) == 5200


def test_a_bad_ingest_processes_setting_is_refused(home: Path, tmp_path: Path) -> None:
    file = write_ndjson(tmp_path / "one.ndjson", [minimal_event()])
    result = run(home, "ingest", str(file), env_extra={"TRAILBOOK_INGEST_PROCESSES": "-1"})
    assert result.returncode != 0
    assert "ingest_processes" in result.stderr.lower()
    assert stored_count(home) == 0


def test_a_long_error_stays_on_one_line(tmp_path: Path) -> None:
    result = run(tmp_path / "data", "init", "--tenant", "Not A Valid Name")
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_reingest_with_idempotency_keys_stores_nothing_new(home: Path, tmp_path: Path) -> None:
    file = write_ndjson(tmp_path / "keyed.ndjson", [
        minimal_event(actor={"id": f"k-{i}"}, idempotency_key=f"import-{i}") for i in range(4)
    ])
    first = run(home, "ingest", str(file))
    assert first.returncode == 0, first.stderr
    assert "stored 4 events" in flat(first.stdout)
    again = run(home, "ingest", str(file))
    assert again.returncode == 0, again.stderr
    assert "stored 0 events" in flat(again.stdout)
    assert "4 already stored" in flat(again.stdout)
    assert stored_count(home) == 4


# -- search ---------------------------------------------------------------------------


@pytest.fixture
def searchable(home: Path) -> Iterator[Path]:
    now = int(time.time() * 1_000_000)
    minutes_ago = lambda m: format_us(now - m * 60_000_000)  # noqa: E731
    events = [
        minimal_event(action="miner.reboot", category="device", occurred_at=minutes_ago(10),
                      actor={"id": "cron", "type": "system"},
                      targets=[{"id": "m-1", "type": "miner"}]),
        minimal_event(action="miner.pool.change", category="device",
                      occurred_at=minutes_ago(20),
                      actor={"id": "u-ann", "email": "ann@corp.example"},
                      source={"ip": "203.0.113.7"}),
        minimal_event(action="minerals.buy", occurred_at=minutes_ago(30),  # not miner.*
                      actor={"id": "u-bob", "email": "bob@corp.example"},
                      source={"ip": "198.51.100.9"}),
        minimal_event(action="user.login", category="access", occurred_at=minutes_ago(180),
                      actor={"id": "u-ann", "email": "ann@corp.example"},
                      source={"ip": "203.0.113.200"},
                      description="quarterly review of access"),
        minimal_event(action="user.login", category="access", occurred_at=minutes_ago(5),
                      actor={"id": "u-eve", "email": "eve@corp.example"},
                      source={"ip": "2001:db8::7"}, description="routine check"),
    ]
    with open_tb(home) as tb:
        tb.events.ingest(tb.tenants.get("acme"), msgspec.convert(events, list[EventIn]))
    return home


def actions(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["action"] for e in events)


def test_search_filters(searchable: Path) -> None:
    home = searchable
    assert actions(search_json(home, "--action", "miner.*")) == [
        "miner.pool.change", "miner.reboot"]
    by_email = search_json(home, "--actor-email", "ann@corp.example")
    assert [e["seq"] for e in by_email] == [2, 4]  # newest first: occurred 20 then 180 min ago
    assert sorted(e["source"]["ip"] for e in search_json(home, "--ip", "203.0.113.0/24")) == [
        "203.0.113.200", "203.0.113.7"]
    recent = search_json(home, "--last", "1h")
    assert sorted(e["seq"] for e in recent) == [1, 2, 3, 5]
    texted = search_json(home, "quarterly")
    assert [e["seq"] for e in texted] == [4]
    assert texted[0]["description"] == "quarterly review of access"


def test_search_takes_the_query_language(searchable: Path) -> None:
    home = searchable
    found = search_json(home, "action:miner.* -actor.email:ann@corp.example")
    assert [e["action"] for e in found] == ["miner.reboot"]
    found = search_json(home, "ip:203.0.113.0/24 last:2h", "--action", "miner.*")
    assert [e["seq"] for e in found] == [2]
    assert [e["seq"] for e in search_json(home, 'category:access -"routine check"')] == [4]
    # A query that starts with '-' comes after '--', or the shell's parser takes it
    # for an option.
    assert [e["seq"] for e in search_json(home, "--", "-category:access")] == [1, 2, 3]


def test_search_names_the_position_of_a_bad_query(home: Path) -> None:
    result = run(home, "search", "action:miner.* result:maybe")
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert "position 23" in result.stderr
    assert "'maybe' is not one of success, failure" in flat(result.stderr)
    assert "Traceback" not in result.stderr


def test_search_rejects_a_bad_since(home: Path) -> None:
    result = run(home, "search", "--since", "nonsense")
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert "since" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


# -- verify ---------------------------------------------------------------------------


def test_verify_clean_data(searchable: Path) -> None:
    result = run(searchable, "verify")
    assert result.returncode == 0, result.stderr
    out = flat(result.stdout)
    assert out.startswith("OK tenant acme: 5 events")
    assert "1 signed checkpoint(s) valid" in out  # the one made on close
    assert result.stderr == ""


# -- keys -----------------------------------------------------------------------------


def _key_rows(data: Path) -> dict[str, list[str]]:
    """``key list`` as {name: cells}."""
    result = run(data, "key", "list", columns=250)
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 7 and cells[0].isdigit():
            rows[cells[1]] = cells
    return rows


def test_key_create_list_revoke(home: Path) -> None:
    created = run(home, "key", "create", "--name", "x", "--scopes", "read")
    assert created.returncode == 0, created.stderr
    secrets = [w for w in created.stdout.split() if w.startswith("tb_")]
    assert len(secrets) == 1

    rows = _key_rows(home)
    assert set(rows) == {"x"}
    key_id, _, prefix, scopes, _, _, state = rows["x"]
    assert scopes == "read"
    assert state == "active"
    assert secrets[0].startswith(prefix.rstrip("…"))
    assert secrets[0] not in run(home, "key", "list", columns=250).stdout  # never the secret

    revoked = run(home, "key", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked key {key_id}" in revoked.stdout
    assert _key_rows(home)["x"][6].startswith("revoked")
    with open_tb(home) as tb, pytest.raises(Unauthenticated):
        tb.keys.authenticate(secrets[0])


# -- tenants, migrate -------------------------------------------------------------------


def test_added_category_is_accepted(home: Path, tmp_path: Path) -> None:
    file = write_ndjson(tmp_path / "billing.ndjson",
                        [minimal_event(action="invoice.create", category="billing")])
    before = run(home, "ingest", str(file))
    assert before.returncode == 1  # not a category of acme yet
    assert "category" in before.stderr

    added = run(home, "tenant", "add-category", "billing")
    assert added.returncode == 0, added.stderr
    assert "billing" in added.stdout

    after = run(home, "ingest", str(file))
    assert after.returncode == 0, after.stderr
    assert "stored 1 events" in flat(after.stdout)
    with open_tb(home) as tb:
        [stored] = tb.events.search(tb.tenants.get("acme"),
                                    EventFilter(actions=("invoice.create",))).events
        assert orjson.loads(stored.doc)["category"] == "billing"
        # Adding the category was itself audited, with the old and new lists.
        [added_event] = tb.events.search(tb.tenants.get("acme"),
                                         EventFilter(actions=("tenant.category_add",))).events
        assert orjson.loads(added_event.doc)["changes"] == [
            {"field": "categories", "old": [], "new": ["billing"]}]


def test_migrate_status_up_to_date(home: Path) -> None:
    result = run(home, "migrate", "--status")
    assert result.returncode == 0, result.stderr
    assert "up to date" in flat(result.stdout)
    assert "to apply" not in result.stdout


# -- demo -----------------------------------------------------------------------------


def test_demo_loads_once_and_reuses_its_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key_file = tmp_path / "keys" / "demo.key"
    args = ("demo", "--count", "300", "--tenant", "demo", "--key-file", str(key_file))

    first = run(data, *args)
    assert first.returncode == 0, first.stderr
    assert "loaded 300 events" in flat(first.stdout)
    keys = [w for w in first.stdout.split() if w.startswith("tb_")]
    assert len(keys) == 1
    assert key_file.read_text().strip() == keys[0]

    # The 300, then the audit of the demo key's and the owner's creation.
    verify = run(data, "verify", "--tenant", "demo")
    assert verify.returncode == 0, verify.stderr
    assert "302 events" in flat(verify.stdout)
    assert "Owner of tenant demo: owner@example.com" in flat(first.stdout)

    second = run(data, *args)
    assert second.returncode == 0, second.stderr
    assert "loaded" not in second.stdout
    assert "not loading more" in flat(second.stdout)
    assert [w for w in second.stdout.split() if w.startswith("tb_")] == keys
    assert stored_count(data, "demo") == 302
    assert "Owner of tenant" not in second.stdout  # made once
    with open_tb(data) as tb:  # one demo key, not one per run
        demo_keys = tb.keys.for_tenant(tb.tenants.get("demo"))
        assert [k.name for k in demo_keys] == ["demo"]


def test_read_commands_create_nothing(tmp_path: Path) -> None:
    data = tmp_path / "nothing-here"
    for args in (["search"], ["verify"], ["tenant", "list"], ["migrate", "--status"]):
        result = run(data, *args)
        assert result.returncode == 1, args
        assert "error:" in result.stderr
    assert not data.exists() or not any(data.iterdir())


def test_ingest_refuses_idempotency_conflicts_before_storing(home: Path, tmp_path: Path) -> None:
    with open_tb(home) as tb:
        stored = minimal_event(idempotency_key="k-stored", description="first")
        tb.events.ingest(tb.tenants.get("acme"), msgspec.convert([stored], list[EventIn]))
    lines = [minimal_event(idempotency_key=f"k-{n}", description=f"line {n}") for n in range(6)]
    lines[3] = minimal_event(idempotency_key="k-stored", description="not the stored one")
    lines[5] = minimal_event(idempotency_key="k-1", description="not line 1")
    file = tmp_path / "conflicts.ndjson"
    file.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")

    refused = run(home, "ingest", str(file))
    assert refused.returncode == 1
    assert "line 4:" in refused.stderr and "line 6:" in refused.stderr
    assert "idempotency_key" in refused.stderr
    assert stored_count(home) == 1

    skipping = run(home, "ingest", "--skip-invalid", str(file))
    assert skipping.returncode == 0, skipping.stderr
    assert "line 4:" in skipping.stderr and "line 6:" in skipping.stderr
    assert stored_count(home) == 1 + 4
