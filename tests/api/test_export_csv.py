"""GET /api/v1/events/export.csv (the CSV export's first name; tests/api/test_exports.py
covers /api/v1/exports and the other formats), on both backends: the downloaded file,
parsed as CSV (UTF-8 with a byte order mark), holds exactly the events the same search
finds, newest first, column by column; filters and query= narrow it; it pages past one
store page; personal data is masked for a role without personal_data; formula-like
cells are defused; bad input is a JSON error; and every export is audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from staff_helpers import add_user, sign_in
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

EXPORT = "/api/v1/events/export.csv"
EVENTS = "/api/v1/events"
# Written out here rather than imported: the file's layout is a promise to its readers.
HEADER = [
    "id", "seq", "occurred_at", "received_at", "category", "action", "action_type",
    "severity", "result", "reason", "actor_id", "actor_name", "actor_email", "actor_type",
    "target_type", "target_id", "target_name", "other_targets", "scope", "ip", "user_agent",
    "country", "request_id", "session_id", "description", "changes", "metadata", "hash",
]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


VARIED = [
    minimal_event(
        action="miner.reboot", category="device", occurred_at=at(1),
        actor={"id": "u-alice", "name": "Alice Smith", "email": "alice@example.com",
               "type": "user"},
        targets=[{"id": "rig-3", "name": "Rack B4 miner 3", "type": "miner"},
                 {"id": "pool-eu", "name": "EU Pool", "type": "pool"},
                 {"id": "rack-b4", "type": "rack"}],
        scope="farm-east", source={"ip": "10.1.2.3", "user_agent": "console/2.1",
                                   "country": "DE"},
        request_id="req-1", session_id="sess-1",
        description='Rebooted 12 miners in rack B4, "quoted", with\na new line',
        metadata={"rack": "B4", "count": 12, "ops": "bob@example.net"}),
    minimal_event(
        action="client.bill.update", category="client", occurred_at=at(3),
        actor={"id": "svc-billing", "type": "system"}, result="failure",
        reason="card declined", severity="warning",
        targets=[{"id": "c-7", "name": "Acme Hosting", "type": "client"}],
        changes=[{"field": "amount", "old": 10, "new": 12.5}], scope="billing",
        source={"ip": "2001:db8::5"}),
    minimal_event(action="user.login", category="access", occurred_at=at(2),
                  actor={"id": "u-bob", "email": "bob@example.org"},
                  source={"ip": "192.0.2.9"}),
    minimal_event(action="miner.pool.change", category="device", occurred_at=at(0),
                  description="Pool change ✓ ünïcode"),
]


def parse(text: str) -> list[list[str]]:
    """The rows of an exported CSV (UTF-8 with a byte order mark, for Excel)."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def cell(value: Any) -> str:
    """What the file holds for one value (no formula-like values in these events)."""
    return "" if value is None else str(value)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else ""


def expected_row(event: dict[str, Any]) -> list[str]:
    """An event as the search answers it, as the export's row."""
    actor = event["actor"]
    targets = event.get("targets") or []
    first = targets[0] if targets else {}
    source = event.get("source") or {}
    return [cell(v) for v in (
        event["id"], event["seq"], event["occurred_at"], event["received_at"],
        event["category"], event["action"], event["action_type"], event["severity"],
        event["result"], event.get("reason"), actor["id"], actor.get("name"),
        actor.get("email"), actor["type"], first.get("type"), first.get("id"),
        first.get("name"), compact(targets[1:]), event.get("scope"), source.get("ip"),
        source.get("user_agent"), source.get("country"), event.get("request_id"),
        event.get("session_id"), event.get("description"), compact(event.get("changes")),
        compact(event.get("metadata")), event["hash"],
    )]


def searched(http: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(EVENTS, params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def exported(http: TestClient, **params: Any) -> list[list[str]]:
    answer = http.get(EXPORT, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = parse(answer.text)
    assert rows[0] == HEADER
    return rows[1:]


@pytest.fixture
def varied(client: TestClient) -> list[dict[str, Any]]:
    answer = client.post(EVENTS, json=VARIED)
    assert answer.status_code == 201, answer.text
    return searched(client)


def test_the_file_holds_every_event_column_by_column(client: TestClient,
                                                     varied: list[dict[str, Any]]) -> None:
    answer = client.get(EXPORT)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="trailbook-acme-\d{8}T\d{6}Z\.csv"',
                        answer.headers["content-disposition"])
    assert answer.content.endswith(b"\r\n") and answer.content.startswith(b"\xef\xbb\xbf")
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-trailbook-export-id"])
    rows = parse(answer.text)
    assert rows[0] == HEADER
    assert all(len(r) == len(HEADER) for r in rows)
    # Newest first (by occurred_at, as the search), every event once.
    assert [r[0] for r in rows[1:]] == [e["id"] for e in varied]
    assert [r[2] for r in rows[1:]] == [at(3), at(2), at(1), at(0)]
    assert rows[1:] == [expected_row(e) for e in varied]
    # Spot checks written out, against what was posted.
    reboot = dict(zip(HEADER, rows[3], strict=True))
    assert reboot["actor_email"] == "alice@example.com" and reboot["ip"] == "10.1.2.3"
    assert reboot["target_id"] == "rig-3" and reboot["target_name"] == "Rack B4 miner 3"
    assert json.loads(reboot["other_targets"]) == [
        {"id": "pool-eu", "name": "EU Pool", "type": "pool"},
        {"id": "rack-b4", "name": None, "type": "rack"}]
    assert reboot["description"] == VARIED[0]["description"]
    assert json.loads(reboot["metadata"]) == VARIED[0]["metadata"]
    assert reboot["changes"] == "" and reboot["user_agent"] == "console/2.1"
    assert reboot["country"] == "DE" and reboot["session_id"] == "sess-1"
    bill = dict(zip(HEADER, rows[1], strict=True))
    assert json.loads(bill["changes"]) == VARIED[1]["changes"]
    assert (bill["result"], bill["reason"], bill["severity"]) == (
        "failure", "card declined", "warning")
    assert bill["other_targets"] == "" and bill["metadata"] == ""
    assert bill["actor_email"] == "" and bill["ip"] == "2001:db8::5"
    assert re.fullmatch(r"[0-9a-f]{64}", bill["hash"])


@pytest.mark.parametrize("params", [
    {"category": "device"},
    {"action": "miner.*"},
    {"result": "failure"},
    {"actor_email": "bob@example.org"},
    {"ip": "10.0.0.0/8"},
    {"q": "rack"},
    {"query": "action:miner.* -scope:farm-east"},
    {"query": "-category:device", "severity": "info"},
    {"query": "ip:2001:db8::/32 OR"},  # words AND: nothing has "or"
    {"since": at(2), "until": at(3)},
])
def test_filters_and_query_narrow_it_as_they_narrow_a_search(
        client: TestClient, varied: list[dict[str, Any]], params: dict[str, str]) -> None:
    expected = searched(client, **params)
    assert len(expected) < len(varied)
    assert exported(client, **params) == [expected_row(e) for e in expected]


def test_nothing_matching_is_a_header_only_file(client: TestClient,
                                                varied: list[dict[str, Any]]) -> None:
    assert exported(client, category="system") == []


def test_exports_page_past_the_store_page(client: TestClient) -> None:
    total = 2500
    for start in range(0, total, 1000):
        batch = [minimal_event(occurred_at=at(n), description=f"event {n}",
                               actor={"id": f"u-{n % 7}"})
                 for n in range(start, min(start + 1000, total))]
        assert client.post(EVENTS, json=batch).status_code == 201
    rows = exported(client)
    assert len(rows) == total
    assert [r[24] for r in rows] == [f"event {n}" for n in reversed(range(total))]
    assert len({r[0] for r in rows}) == total
    # Narrowed, still paged: every seventh.
    assert [r[24] for r in exported(client, actor_id="u-3")] == [
        f"event {n}" for n in reversed(range(total)) if n % 7 == 3]


@pytest.fixture
def app(client: TestClient) -> Any:
    return client.app


def test_a_role_without_personal_data_gets_masked_values(
        tb: Trailbook, tenant: Tenant, client: TestClient, varied: list[dict[str, Any]]
) -> None:
    tb.store.accounts.add_role(tenant.id, "masked-exporter", ("events.read", "events.export"),
                               ("*",), "export without personal data")
    add_user(tb, tenant, "masked@acme.example", "masked-exporter")
    http = sign_in(client.app, "masked@acme.example")  # type: ignore[arg-type]
    # Leave out the audit of the user, the sign-in and these reads.
    rows = exported(http, category="device,client")
    masked_search = searched(http, category="device,client")
    assert all(e.get("masked") for e in masked_search)
    assert rows == [expected_row(e) for e in masked_search]
    bill, reboot, _ = (dict(zip(HEADER, r, strict=True)) for r in rows)
    assert reboot["actor_email"] == "a***@example.com"
    assert reboot["ip"] == "10.1.2.x"
    assert json.loads(reboot["metadata"])["ops"] == "b***@example.net"
    assert bill["ip"] == "2001:db8:0:x:x:x:x:x"
    text = http.get(EXPORT, params={"category": "device,client"}).text
    for secret in ("alice@example.com", "bob@example.net", "10.1.2.3", "192.0.2.9"):
        assert secret not in text
    # Nor can such a role filter by personal data.
    refused = http.get(EXPORT, params={"actor_email": "alice@example.com"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "actor_email"


def test_a_category_restricted_role_exports_only_its_categories(
        tb: Trailbook, tenant: Tenant, client: TestClient, varied: list[dict[str, Any]]
) -> None:
    tb.store.accounts.add_role(tenant.id, "device-exporter",
                               ("events.read", "events.export", "personal_data"),
                               ("device",), "device events only")
    add_user(tb, tenant, "devices@acme.example", "device-exporter")
    http = sign_in(client.app, "devices@acme.example")  # type: ignore[arg-type]
    rows = exported(http)
    assert [r[4] for r in rows] == ["device", "device"]
    assert rows == [expected_row(e) for e in varied if e["category"] == "device"]
    assert exported(http, category="client") == []
    assert exported(http, query="category:access") == []


def test_formula_like_cells_are_defused(client: TestClient) -> None:
    risky = minimal_event(
        action="client.note", category="client", result="failure",
        reason="-2+3", description="=HYPERLINK(\"http://evil.example\",\"x\")",
        actor={"id": "@admin", "name": "+1 555 0100"}, scope="\tfinance",
        targets=[{"id": "=1+1", "name": "\rname", "type": "client"}],
        source={"user_agent": "@curl"}, request_id="-r1", session_id="plain=ok")
    assert client.post(EVENTS, json=risky).status_code == 201
    [row] = exported(client)
    got = dict(zip(HEADER, row, strict=True))
    assert got["reason"] == "'-2+3"
    assert got["description"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert got["actor_id"] == "'@admin" and got["actor_name"] == "'+1 555 0100"
    assert got["scope"] == "'\tfinance"
    assert got["target_id"] == "'=1+1" and got["target_name"] == "'\rname"
    assert got["user_agent"] == "'@curl" and got["request_id"] == "'-r1"
    assert got["session_id"] == "plain=ok"  # only the first character counts
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert not any(c.startswith(dangerous) for c in row)


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"query": "action:"}, 400, None),
    ({"query": 'actor:"unclosed'}, 400, None),
    ({"colour": "red"}, 422, "colour"),
    ({"since": "yesterday-ish"}, 422, "since"),
    ({"ip": "999.1.1.1"}, 422, "ip"),
    ({"query": "category:device", "category": "client"}, 422, "query"),
])
def test_bad_input_is_a_json_error_naming_the_field(
        client: TestClient, params: dict[str, str], status: int, field: str | None) -> None:
    answer = client.get(EXPORT, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    if status == 400:
        assert error["code"] == "query_syntax" and error["position"] >= 1
        assert error["details"][0]["field"] == "query"
    else:
        assert error["details"][0]["field"] == field


def test_without_events_export_it_is_forbidden(tb: Trailbook, tenant: Tenant,
                                               client: TestClient) -> None:
    ingest_only = client.get(EXPORT, headers={
        "Authorization": f"Bearer {setup_key(tb, tenant, ('ingest',), name='in')}"})
    assert ingest_only.status_code == 403, ingest_only.text
    assert ingest_only.json()["error"]["code"] == "forbidden"
    add_user(tb, tenant, "analyst@acme.example", "analyst")  # reads, but may not export
    analyst = sign_in(client.app, "analyst@acme.example")  # type: ignore[arg-type]
    assert analyst.get(EVENTS).status_code == 200
    refused = analyst.get(EXPORT)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"][0]["reason"].startswith("needs events.export")
    denied = searched(client, action="access.denied")
    assert [e["metadata"].get("permission") for e in denied] == ["events.export"] * 2
    assert all(e["metadata"]["path"] == EXPORT for e in denied)
    assert not searched(client, action="export.run")


def test_every_export_is_audited_once(tb: Trailbook, tenant: Tenant, client: TestClient,
                                      varied: list[dict[str, Any]]) -> None:
    add_user(tb, tenant, "auditor@acme.example", "auditor")
    auditor = sign_in(client.app, "auditor@acme.example")  # type: ignore[arg-type]
    rows = exported(auditor, category="device", query="-result:failure")
    assert len(rows) == 2
    exported(client)  # an API key's export is audited too
    runs = searched(client, action="export.run")
    assert len(runs) == 2
    by_key, by_staff = runs  # newest first
    assert (by_staff["category"], by_staff["action_type"], by_staff["result"]) == (
        "access", "export", "success")
    assert by_staff["actor"]["email"] == "auditor@acme.example"
    assert by_staff["session_id"]
    assert by_staff["metadata"] == {
        "filter": {"categories": ["device"], "exclude": {"results": ["failure"]}},
        "query": "-result:failure", "format": "csv",
        "export_id": by_staff["metadata"]["export_id"]}
    assert by_key["actor"]["type"] == "api_key"
    assert by_key["metadata"] == {"filter": {}, "format": "csv",
                                  "export_id": by_key["metadata"]["export_id"]}
    assert by_key["metadata"]["export_id"] != by_staff["metadata"]["export_id"]


def test_an_export_holds_what_was_stored_when_it_started(tb: Trailbook, tenant: Tenant,
                                                         api_key: str) -> None:
    from trailbook.service.access.audit import CLI

    tb.events.ingest(tenant, [tb.events.parse_event(
        json.dumps(minimal_event(occurred_at=at(n)))) for n in range(3)])
    principal = tb.keys.authenticate(api_key)
    export = tb.exports.start(principal, EventFilter(), "csv", context=CLI)
    # Arriving while it runs (one even older than the rest): left out. Its own audit
    # record came after the start too.
    tb.events.ingest(tenant, [tb.events.parse_event(
        json.dumps(minimal_event(occurred_at=at(n)))) for n in (-5, 10)])
    rows = parse(b"".join(export.chunks).decode())
    assert rows[0] == HEADER
    assert [r[1] for r in rows[1:]] == ["3", "2", "1"]
