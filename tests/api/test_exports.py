"""GET /api/v1/exports in every format and GET /api/v1/exports/{id}/manifest, on both
backends: for events with unicode, line ends, commas, quotes, formula-like text, control
characters, IPv6, floats, non-ASCII keys and big metadata, the parsed file equals what
the API returns; times follow ``tz`` in CSV and XLSX; each export's signed manifest is
there when the download has ended, and it verifies offline."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import orjson
import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from trailbook.integrity.export_check import check_export, read_manifest
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

EXPORTS = "/api/v1/exports"
EVENTS = "/api/v1/events"
HEADER = [
    "id", "seq", "occurred_at", "received_at", "category", "action", "action_type",
    "severity", "result", "reason", "actor_id", "actor_name", "actor_email", "actor_type",
    "target_type", "target_id", "target_name", "other_targets", "scope", "ip", "user_agent",
    "country", "request_id", "session_id", "description", "changes", "metadata", "hash",
]
JSON_CELLS = {"other_targets", "changes", "metadata"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")

TRICKY = [
    minimal_event(
        action="miner.reboot", category="device", occurred_at="2026-03-01T12:00:00.250000Z",
        actor={"id": "u-ä", "name": "Zoë \"Z\" O'Brien, Jr.", "email": "zoe@example.com",
               "type": "user"},
        targets=[{"id": "rig,3", "name": "Rack B4\nminer 3", "type": "miner"},
                 {"id": "pool-eu", "name": "EU 🏊 pool", "type": "pool"}],
        scope="farm-east", source={"ip": "2001:db8::8a2e:370:7334", "user_agent": "a, b",
                                   "country": "DE"},
        request_id="req-1", session_id="sess-1",
        description='Rebooted 12 miners, "quoted",\r\nwith a CRLF, a lone \r and ✓ 日本語 עברית',
        metadata={"rack": "B4", "ratio": 0.1, "big": 1e21, "tiny": 1e-7,
                  "max": 9007199254740991, "nested": {"list": [1, 2.5, None, True]},
                  "ключ": "значение", "emoji 😀": "🚀"}),
    minimal_event(
        action="client.note", category="client", occurred_at="2026-03-01T12:01:00Z",
        result="failure", reason="-2+3", description="=HYPHEN(\"x\")",
        actor={"id": "@admin", "name": "+1 555 0100"}, scope="\tfinance",
        targets=[{"id": "=1+1", "name": "\rname", "type": "client"}],
        source={"ip": "::1", "user_agent": "@curl"}, request_id="-r1",
        changes=[{"field": "amount", "old": 10, "new": 12.5},
                 {"field": "note", "old": None, "new": "a,\"b\"\n"}]),
    minimal_event(
        action="user.login", category="access", occurred_at="2026-03-01T12:02:00Z",
        actor={"id": "u-ctl"}, description="control \x01\x08\x1f and DEL \x7f and _x0041_",
        source={"ip": "192.0.2.1"}),
    minimal_event(
        action="config.import", category="admin", occurred_at="2026-03-01T12:03:00Z",
        actor={"id": "u-big"}, description="big metadata",
        metadata={"blob": "x" * 20_000, "rows": [{"k": i, "v": f"value {i}"} for i in range(300)]}),
    minimal_event(action="pool.change", occurred_at="2026-03-01T12:04:00Z"),
]


def searched(http: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(EVENTS, params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def download(http: TestClient, fmt: str, **params: Any) -> tuple[bytes, str]:
    answer = http.get(EXPORTS, params={"format": fmt, **params})
    assert answer.status_code == 200, answer.text
    export_id = answer.headers["x-trailbook-export-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", export_id)
    assert re.fullmatch(rf'attachment; filename="trailbook-acme-\d{{8}}T\d{{6}}Z\.{fmt}"',
                        answer.headers["content-disposition"])
    return answer.content, export_id


def unguard(cell: str) -> str:
    """A CSV cell as data: the guard's leading ' dropped."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA) else cell


def unescape_ooxml(text: str) -> str:
    """OOXML's _xHHHH_ escapes (how an .xlsx holds control characters) undone; openpyxl
    leaves them in read-only mode."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def expected_cells(event: dict[str, Any], zone: ZoneInfo | None = None) -> dict[str, Any]:
    """An event as the API answers it, as the export's cells (JSON cells parsed)."""
    actor = event["actor"]
    targets = event.get("targets") or []
    first = targets[0] if targets else {}
    source = event.get("source") or {}

    def when(text: str) -> str:
        if zone is None:
            return text
        return datetime.fromisoformat(text).astimezone(zone).isoformat(
            timespec="microseconds")

    values = (
        event["id"], event["seq"], when(event["occurred_at"]), when(event["received_at"]),
        event["category"], event["action"], event["action_type"], event["severity"],
        event["result"], event.get("reason"), actor["id"], actor.get("name"),
        actor.get("email"), actor["type"], first.get("type"), first.get("id"),
        first.get("name"), targets[1:] or None, event.get("scope"), source.get("ip"),
        source.get("user_agent"), source.get("country"), event.get("request_id"),
        event.get("session_id"), event.get("description"), event.get("changes") or None,
        event.get("metadata") or None, event["hash"],
    )
    return {name: ("" if v is None else v if name in JSON_CELLS else str(v))
            for name, v in zip(HEADER, values, strict=True)}


def as_data(row: list[str]) -> dict[str, Any]:
    """A file's row (as text) with the JSON cells parsed."""
    return {name: (json.loads(v) if name in JSON_CELLS and v else v)
            for name, v in zip(HEADER, row, strict=True)}


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER
    return [[unguard(c) for c in r] for r in rows[1:]]


def xlsx_rows(content: bytes) -> list[list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    sheet = book.active
    assert sheet is not None
    rows = [["" if v is None else unescape_ooxml(v) if isinstance(v, str) else str(v)
             for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    assert rows[0] == HEADER
    return [r + [""] * (len(HEADER) - len(r)) for r in rows[1:]]


@pytest.fixture
def tricky(client: TestClient) -> list[dict[str, Any]]:
    answer = client.post(EVENTS, json=TRICKY)
    assert answer.status_code == 201, answer.text
    return searched(client)


def verified(tb: Trailbook, http: TestClient, export_id: str, content: bytes,
             fmt: str, tmp_path: Any) -> dict[str, Any]:
    """The export's manifest, fetched, and checked offline against the file."""
    answer = http.get(f"{EXPORTS}/{export_id}/manifest")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert re.search(rf'filename="trailbook-acme-\d{{8}}T\d{{6}}Z\.{fmt}\.manifest\.json"',
                     answer.headers["content-disposition"])
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(content)
    doc = read_manifest(answer.content)
    report = check_export(path, doc, {tb.signer.key_id: tb.signer.public})
    assert report.ok, report.problems
    manifest: dict[str, Any] = doc["manifest"]
    return manifest


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "ndjson"])
def test_each_format_round_trips_what_the_api_returns(
        tb: Trailbook, client: TestClient, tricky: list[dict[str, Any]], fmt: str,
        tmp_path: Any) -> None:
    content, export_id = download(client, fmt)
    if fmt == "json":
        assert orjson.loads(content) == tricky
    elif fmt == "ndjson":
        assert [orjson.loads(line) for line in content.splitlines()] == tricky
    else:
        rows = csv_rows(content) if fmt == "csv" else xlsx_rows(content)
        assert [as_data(r) for r in rows] == [expected_cells(e) for e in tricky]
    manifest = verified(tb, client, export_id, content, fmt, tmp_path)
    assert manifest["rows"] == len(tricky) == 5
    assert manifest["row_seqs"] == [e["seq"] for e in tricky]
    assert (manifest["first_seq"], manifest["last_seq"]) == (1, 5)
    assert manifest["format"] == fmt and manifest["tenant"] == "acme"
    assert manifest["export_id"] == export_id and manifest["masked"] is False


def test_csv_and_xlsx_cells_are_safe_and_exact(client: TestClient,
                                               tricky: list[dict[str, Any]]) -> None:
    def by_action(rows: list[list[str]]) -> dict[str, dict[str, str]]:
        return {row[5]: dict(zip(HEADER, row, strict=True)) for row in rows}

    raw = list(csv.reader(io.StringIO(download(client, "csv")[0].decode("utf-8-sig"),
                                      newline="")))
    note = by_action(raw)["client.note"]
    assert note["reason"] == "'-2+3" and note["description"] == "'=HYPHEN(\"x\")"
    assert note["scope"] == "'\tfinance" and note["target_name"] == "'\rname"
    assert not any(c.startswith(FORMULA) for row in raw for c in row)
    # XLSX text cells are never formulas: they hold the values as they are.
    rows = by_action(xlsx_rows(download(client, "xlsx")[0]))
    cells = rows["client.note"]
    assert cells["reason"] == "-2+3" and cells["description"] == "=HYPHEN(\"x\")"
    control = rows["user.login"]
    assert control["description"] == "control \x01\x08\x1f and DEL \x7f and _x0041_"


def test_tz_sets_the_times_of_csv_and_xlsx_only(client: TestClient,
                                                tricky: list[dict[str, Any]]) -> None:
    zone = ZoneInfo("Asia/Kolkata")
    expected = [expected_cells(e, zone) for e in tricky]
    assert expected[-1]["occurred_at"] == "2026-03-01T17:30:00.250000+05:30"
    mine = {"tz": "Asia/Kolkata", "query": "-action:export.run"}  # not these exports' own
    rows = csv_rows(download(client, "csv", **mine)[0])
    assert [as_data(r) for r in rows] == expected
    rows = xlsx_rows(download(client, "xlsx", **mine)[0])
    assert [as_data(r) for r in rows] == expected
    # JSON keeps the stored documents, which their hashes cover.
    assert orjson.loads(download(client, "json", **mine)[0]) == tricky
    runs = searched(client, action="export.run")
    assert [r["metadata"].get("tz") for r in runs[:3]] == ["Asia/Kolkata"] * 3


@pytest.mark.parametrize(("params", "field"), [
    ({"format": "pdf"}, "format"),
    ({"format": "csv", "tz": "Mars/Olympus"}, "tz"),
    ({"format": "json", "colour": "red"}, "colour"),
])
def test_bad_parameters_are_refused_naming_the_field(
        client: TestClient, params: dict[str, str], field: str) -> None:
    answer = client.get(EXPORTS, params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == field
    assert not searched(client, action="export.run")  # a refused export is not run


def test_an_xlsx_export_past_a_sheets_rows_is_refused(
        client: TestClient, tricky: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailbook.service.export import service, xlsx

    monkeypatch.setattr(service, "MAX_EVENTS", 3)
    monkeypatch.setattr(xlsx, "MAX_EVENTS", 3)
    answer = client.get(EXPORTS, params={"format": "xlsx"})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["error"]["details"][0]
    assert detail["field"] == "format" and "csv or ndjson" in detail["reason"]
    assert client.get(EXPORTS, params={"format": "xlsx", "category": "device"}
                      ).status_code == 200


def test_a_cell_too_long_for_excel_is_cut_there_only(client: TestClient) -> None:
    many = [{"id": f"{i:03}" + "t" * 250, "name": "n" * 250, "type": "node"}
            for i in range(64)]
    assert client.post(EVENTS, json=minimal_event(targets=many)).status_code == 201
    [event] = searched(client)
    [row] = xlsx_rows(download(client, "xlsx")[0])
    cell = dict(zip(HEADER, row, strict=True))["other_targets"]
    assert len(cell) == 32_767 and cell.endswith("…[cut: longer than an Excel cell holds]")
    mine = {"query": "-action:export.run"}  # not the exports' own audit events
    [row] = csv_rows(download(client, "csv", **mine)[0])
    assert json.loads(dict(zip(HEADER, row, strict=True))["other_targets"]) == many[1:]
    assert orjson.loads(download(client, "json", **mine)[0]) == [event]


def test_the_alias_and_the_new_endpoint_give_the_same_csv(
        client: TestClient, tricky: list[dict[str, Any]]) -> None:
    old = client.get("/api/v1/events/export.csv", params={"category": "device,client"})
    assert old.status_code == 200 and "x-trailbook-export-id" in old.headers
    new, _ = download(client, "csv", category="device,client")
    assert csv_rows(old.content) == csv_rows(new)


def test_a_masked_export_verifies_by_its_row_digests(
        tb: Trailbook, tenant: Tenant, client: TestClient, tricky: list[dict[str, Any]],
        tmp_path: Any) -> None:
    from staff_helpers import add_user, sign_in

    tb.store.accounts.add_role(tenant.id, "masked-exporter",
                               ("events.read", "events.export"), ("*",), "no personal data")
    add_user(tb, tenant, "masked@acme.example", "masked-exporter")
    http = sign_in(client.app, "masked@acme.example")  # type: ignore[arg-type]
    expected = searched(http, category="device,client")
    content, export_id = download(http, "ndjson", category="device,client")
    docs = [orjson.loads(line) for line in content.splitlines()]
    assert docs == expected and all(d["masked"] for d in docs)
    assert "zoe@example.com" not in content.decode()
    manifest = verified(tb, http, export_id, content, "ndjson", tmp_path)
    assert manifest["masked"] is True and len(manifest["row_digests"]) == 2


def test_the_manifest_is_the_tenants_own_and_needs_export(
        tb: Trailbook, client: TestClient, tricky: list[dict[str, Any]]) -> None:
    _, export_id = download(client, "json")
    url = f"{EXPORTS}/{export_id}/manifest"
    assert client.get(url).status_code == 200
    other = tb.tenants.create("globex")
    stranger = client.get(url, headers={"Authorization": f"Bearer {setup_key(tb, other)}"})
    assert stranger.status_code == 404, stranger.text
    tenant = tb.tenants.get("acme")
    ingest_only = client.get(url, headers={
        "Authorization": f"Bearer {setup_key(tb, tenant, ('ingest',), name='in')}"})
    assert ingest_only.status_code == 403, ingest_only.text
    for unknown in ("0" * 32, "../../etc/passwd", "x"):
        answer = client.get(f"{EXPORTS}/{unknown}/manifest")
        assert answer.status_code == 404, answer.text
    # Expired: past export_manifest_ttl_seconds it is gone.
    tb.exports.manifests.ttl = 0.0
    assert client.get(url).status_code == 404


def test_a_manifest_being_written_is_not_served(tb: Trailbook, tenant: Tenant,
                                                client: TestClient,
                                                tricky: list[dict[str, Any]]) -> None:
    from trailbook.query.filters import EventFilter

    principal = tb.keys.authenticate(client.headers["Authorization"].split()[1])
    export = tb.exports.start(principal, EventFilter(), "json", context=_context())
    url = f"{EXPORTS}/{export.id}/manifest"
    next(export.chunks)
    running = client.get(url)
    assert running.status_code == 409 and "still running" in running.text
    b"".join(export.chunks)
    assert client.get(url).status_code == 200
    # Given up half way: no manifest, ever.
    export = tb.exports.start(principal, EventFilter(), "json", context=_context())
    next(export.chunks)
    export.chunks.close()  # type: ignore[attr-defined]
    assert client.get(f"{EXPORTS}/{export.id}/manifest").status_code == 404


def _context() -> Any:
    from trailbook.service.access.audit import CLI

    return CLI
