"""`trailbook retention policy` and `retention hold` as an operator meets them: a real
process on a data folder made by `trailbook init`; policies set (days or forever, the
default as `default` or `*`), listed and removed; holds placed, listed, released with
a reason; the one-line refusals of bad input; every change audited in `admin`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from cli.cli_runner import ok, refused, run


@pytest.fixture
def data(tmp_path: Path) -> Path:
    ok(tmp_path, "init", "--tenant", "acme")
    return tmp_path


def test_policies_set_listed_and_removed(data: Path) -> None:
    assert "365 days" in ok(data, "retention", "policy", "set", "access", "365")
    ok(data, "retention", "policy", "set", "default", "730d")
    ok(data, "retention", "policy", "set", "admin", "forever")
    listed = orjson.loads(ok(data, "retention", "policy", "list", "--json"))
    assert [(p["category"], p["keep_days"]) for p in listed["policies"]] == [
        ("*", 730), ("access", 365), ("admin", None)]
    assert listed["policies"][0]["updated_by"].startswith("trailbook CLI")
    by_category = {c["category"]: (c["keep_days"], c["source"]) for c in listed["categories"]}
    assert by_category["device"] == (730, "default")
    assert by_category["admin"] == (None, "own")
    table = ok(data, "retention", "policy", "list")
    assert "* (default)" in table and "forever" in table and "the default" in table

    ok(data, "retention", "policy", "delete", "access")
    ok(data, "retention", "policy", "delete", "*")
    after = orjson.loads(ok(data, "retention", "policy", "list", "--json"))
    assert [p["category"] for p in after["policies"]] == ["admin"]
    assert {c["category"]: c["keep_days"] for c in after["categories"]}["access"] is None

    events = orjson.loads(ok(data, "search", "action:retention.*", "--json"))["events"]
    assert sorted(e["action"] for e in events) == sorted(
        ["retention.policy.set"] * 3 + ["retention.policy.delete"] * 2)
    assert all(e["category"] == "admin" and e["actor"]["id"] == "cli" for e in events)


def test_holds_placed_listed_and_released(data: Path) -> None:
    said = ok(data, "retention", "hold", "add", "--name", "Dispute 4471", "--query",
              "target.id:acct-4471 before:2026-07-01", "--reason", "billing dispute")
    hold_id = said.strip().rsplit(" ", 1)[-1]
    [hold] = orjson.loads(ok(data, "retention", "hold", "list", "--json"))["holds"]
    assert (hold["id"], hold["name"], hold["active"]) == (hold_id, "Dispute 4471", True)
    assert "Dispute 4471" in ok(data, "retention", "hold", "list")

    assert "reason" in refused(data, "retention", "hold", "release", hold_id, "--reason", " ")
    ok(data, "retention", "hold", "release", hold_id, "--reason", "settled")
    assert orjson.loads(ok(data, "retention", "hold", "list", "--json")) == {"holds": []}
    assert "no active legal holds" in ok(data, "retention", "hold", "list")
    [released] = orjson.loads(ok(data, "retention", "hold", "list", "--all", "--json"))[
        "holds"]
    assert released["active"] is False and released["release_reason"] == "settled"
    assert "released already" in refused(data, "retention", "hold", "release", hold_id,
                                         "--reason", "again")


@pytest.mark.parametrize(("args", "says"), [
    (("policy", "set", "devices", "30"), "category"),
    (("policy", "set", "access", "0"), "keep_days"),
    (("policy", "set", "access", "a year"), "DAYS"),
    (("policy", "delete", "access"), "no policy of its own"),
    (("hold", "add", "--name", "x", "--query", "last:30d", "--reason", "r"), "query"),
    (("hold", "add", "--name", "x", "--query", "tag:fraud", "--reason", "r"), "query"),
    (("hold", "add", "--name", "x", "--query", "actor.id:u-1", "--reason", ""), "reason"),
    (("hold", "release", "nope", "--reason", "r"), "no such legal hold"),
    (("policy", "list", "--tenant", "globex"), "tenant"),
])
def test_bad_input_is_one_line_and_exit_1(data: Path, args: tuple[str, ...],
                                          says: str) -> None:
    message = refused(data, "retention", *args)
    assert says in message and len(message.splitlines()) == 1, message


def test_a_run_from_the_command_line_purges_archives_and_verifies(data: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from service.retention_trail import event_at, ingest
    from trailbook.service.app import Trailbook
    from trailbook.settings import load_settings

    with Trailbook.open(load_settings(data_dir=data)) as tb:
        tenant = tb.tenants.get("acme")
        ingest(tb, tenant, [event_at("device", 400, n) for n in range(120)]
               + [event_at("device", 1, n) for n in range(120, 130)])
        tb.checkpoints.checkpoint_pending()
        public = tb.signer.public.public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    (data / "public.pem").write_bytes(public)
    ok(data, "retention", "policy", "set", "device", "365")

    report = orjson.loads(ok(data, "retention", "run", "--json"))

    assert report["ok"] is True and report["purged"] == 120
    [purge] = report["purges"]
    listed = orjson.loads(ok(data, "retention", "runs", "--json"))
    assert [p["id"] for p in listed] == [purge["id"]]
    assert purge["archive"] in ok(data, "retention", "runs")
    [verified] = orjson.loads(ok(data, "verify", "--json"))
    assert verified["ok"] is True and verified["events_purged"] == 120
    archive = data / "archives" / "acme" / purge["archive"]
    checked = run(data, "verify", "--export", str(archive), "--public-key",
                  str(data / "public.pem"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the run is in the trail, by the command line
    found = orjson.loads(ok(data, "search", "action:system.retention.run", "--json"))
    [event] = found if isinstance(found, list) else found["events"]
    assert event["category"] == "system" and event["actor"]["id"] == "cli"
    assert "purged" in ok(data, "retention", "run")  # a second run: nothing left to do
