"""POST /api/v1/events: one event or a batch is stored, read back whole, and retries
with an idempotency key never make a second copy."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

EVENTS = "/api/v1/events"
RFC3339_US = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def last_seq(client: TestClient) -> int:
    answer = client.get("/api/v1/verify")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ok"] is True, report
    return int(report["last_seq"])


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post(EVENTS, json=body, headers=headers)


def every_event(client: TestClient) -> list[dict[str, Any]]:
    answer = client.get(EVENTS, params={"limit": 500})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["events"])


# -- one event, a batch --------------------------------------------------------


def test_one_event_is_stored_with_id_seq_and_hash(client: TestClient) -> None:
    answer = post(client, minimal_event())

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["stored"] == 1
    assert body["duplicates"] == 0
    (one,) = body["events"]
    assert UUID.match(one["id"]), one
    assert one["seq"] == 1
    assert HEX64.match(one["hash"]), one
    assert one["duplicate"] is False
    assert last_seq(client) == 1


def test_batch_of_three_gets_seqs_one_to_three_in_order(client: TestClient) -> None:
    batch = [minimal_event(description=f"event {n}") for n in range(3)]

    answer = post(client, batch)

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["stored"] == 3
    assert [e["seq"] for e in body["events"]] == [1, 2, 3]
    assert len({e["id"] for e in body["events"]}) == 3
    assert len({e["hash"] for e in body["events"]}) == 3
    # Each answer belongs to the event at the same place in the batch.
    for n, appended in enumerate(body["events"]):
        stored = client.get(f"{EVENTS}/{appended['id']}").json()
        assert stored["description"] == f"event {n}"
        assert stored["seq"] == appended["seq"]
        assert stored["hash"] == appended["hash"]
    assert last_seq(client) == 3


def test_a_later_post_continues_the_chain(client: TestClient) -> None:
    assert post(client, [minimal_event(), minimal_event()]).status_code == 201

    answer = post(client, minimal_event())

    assert answer.status_code == 201
    assert answer.json()["events"][0]["seq"] == 3
    assert last_seq(client) == 3


def test_stored_event_holds_every_field_sent(client: TestClient, tb: Trailbook,
                                             tenant: Tenant) -> None:
    occurred = datetime.now(UTC).replace(microsecond=123456) - timedelta(hours=5)
    sent = {
        "action": "client.bill.update",
        "actor": {"id": "u-42", "name": "Jürgen Weiß", "email": "jw@example.com",
                  "type": "user"},
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "category": "client",
        "action_type": "update",
        "severity": "warning",
        "targets": [
            {"id": "cl-7", "name": "Client Müller GmbH", "type": "client"},
            {"id": "bill-2026-03", "name": None, "type": "bill"},
        ],
        "scope": "finance",
        "result": "failure",
        "reason": "payment gateway timeout",
        "source": {"ip": "2001:DB8::1", "user_agent": "curl/8.5", "country": "de"},
        "request_id": "req-123",
        "session_id": "sess-9",
        "description": "Updated the bill of client 7: 12 € → 15 €",
        "changes": [
            {"field": "amount", "old": 12, "new": 15.5},
            {"field": "note", "old": None, "new": "überfällig ✓"},
        ],
        "metadata": {
            "стойка": "B4",
            "emoji": "⛏️😀",
            "nested": {"list": [1, "two", True, None, {"deep": "ja"}]},
            "count": 9007199254740991,
        },
        "idempotency_key": "bill-update-7",
    }

    answer = post(client, sent)
    assert answer.status_code == 201, answer.text
    appended = answer.json()["events"][0]

    got = client.get(f"{EVENTS}/{appended['id']}")
    assert got.status_code == 200, got.text
    stored = got.json()

    for field in ("action", "actor", "category", "action_type", "severity", "targets", "scope",
                  "result", "reason", "request_id", "session_id", "description", "changes",
                  "metadata", "idempotency_key"):
        assert stored[field] == sent[field], field
    # Normalised: the address in RFC 5952 form, the country upper-case.
    assert stored["source"] == {"ip": "2001:db8::1", "user_agent": "curl/8.5", "country": "DE"}
    # Assigned by the server.
    assert stored["id"] == appended["id"]
    assert stored["seq"] == appended["seq"] == 1
    assert stored["hash"] == appended["hash"]
    assert stored["tenant"] == "acme"
    assert RFC3339_US.match(stored["received_at"]), stored["received_at"]
    assert RFC3339_US.match(stored["occurred_at"]), stored["occurred_at"]
    assert stored["occurred_at"] == occurred.strftime("%Y-%m-%dT%H:%M:%S.123456Z")
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    assert head.seq == 1
    assert head.hash.hex() == stored["hash"]


def test_ipv6_and_ipv4_addresses_are_stored_in_canonical_form(client: TestClient) -> None:
    cases = {
        "2001:DB8::1": "2001:db8::1",
        "2001:0db8:0000:0000:0000:0000:0000:00ff": "2001:db8::ff",
        "::FFFF:10.0.0.1": "::ffff:10.0.0.1",
        "10.0.0.1": "10.0.0.1",
    }
    for sent, canonical in cases.items():
        answer = post(client, minimal_event(source={"ip": sent}))
        assert answer.status_code == 201, (sent, answer.text)
        stored = client.get(f"{EVENTS}/{answer.json()['events'][0]['id']}").json()
        assert stored["source"]["ip"] == canonical, sent


def test_defaults_fill_what_the_client_left_out(client: TestClient) -> None:
    answer = post(client, minimal_event())
    stored = client.get(f"{EVENTS}/{answer.json()['events'][0]['id']}").json()

    assert stored["category"] == "general"
    assert stored["severity"] == "info"
    assert stored["result"] == "success"
    assert stored["actor"] == {"id": "u-1", "name": None, "email": None, "type": "user"}
    assert stored["targets"] == []
    assert stored["changes"] == []
    assert stored["metadata"] == {}
    # Without occurred_at, the event happened when it was received.
    assert stored["occurred_at"] == stored["received_at"]


def test_occurred_at_with_an_offset_is_stored_in_utc(client: TestClient) -> None:
    answer = post(client, minimal_event(occurred_at="2026-01-15T14:30:00.5+02:00"))
    assert answer.status_code == 201, answer.text
    stored = client.get(f"{EVENTS}/{answer.json()['events'][0]['id']}").json()
    assert stored["occurred_at"] == "2026-01-15T12:30:00.500000Z"


def test_action_type_is_inferred_from_the_last_segment(client: TestClient) -> None:
    cases = {
        "user.login": "login",
        "user.logout": "logout",
        "client.bill.update": "update",
        "miner.reboot": "execute",
        "client.account.create": "create",
        "cluster.delete": "delete",
        "report.export": "export",
        "role.grant": "permission",
        "miner.pool.change": "update",
        "client.payment.refund": "update",
        "bonus.manual_tally": "other",
    }
    for action, expected in cases.items():
        answer = post(client, minimal_event(action=action))
        assert answer.status_code == 201, answer.text
        stored = client.get(f"{EVENTS}/{answer.json()['events'][0]['id']}").json()
        assert stored["action_type"] == expected, action


def test_action_type_sent_by_the_client_wins(client: TestClient) -> None:
    answer = post(client, minimal_event(action="user.login", action_type="read"))
    stored = client.get(f"{EVENTS}/{answer.json()['events'][0]['id']}").json()
    assert stored["action_type"] == "read"


def test_unknown_event_id_is_404(client: TestClient) -> None:
    post(client, minimal_event())
    for event_id in ("01900000-0000-7000-8000-000000000000", "not-a-uuid"):
        answer = client.get(f"{EVENTS}/{event_id}")
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert error["code"] == "not_found"
        assert error["details"][0]["field"] == "id"


# -- idempotency -----------------------------------------------------------------


def test_idempotency_key_header_repeat_returns_the_stored_event(client: TestClient) -> None:
    first = post(client, minimal_event(description="once"), **{"Idempotency-Key": "req-1"})
    again = post(client, minimal_event(description="once"), **{"Idempotency-Key": "req-1"})

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    a, b = first.json()["events"][0], again.json()["events"][0]
    assert a["duplicate"] is False
    assert b["duplicate"] is True
    assert (b["id"], b["seq"], b["hash"]) == (a["id"], a["seq"], a["hash"])
    assert again.json()["stored"] == 0
    assert again.json()["duplicates"] == 1
    assert last_seq(client) == 1
    assert len(every_event(client)) == 1


def test_idempotency_key_field_repeat_returns_the_stored_event(client: TestClient) -> None:
    event = minimal_event(idempotency_key="evt-1", occurred_at="2026-01-01T00:00:00Z")
    first = post(client, event)
    again = post(client, event)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["events"][0]["id"] == first.json()["events"][0]["id"]
    assert again.json()["events"][0]["duplicate"] is True
    assert last_seq(client) == 1


def test_same_key_with_different_content_is_a_conflict(client: TestClient, tb: Trailbook,
                                                       tenant: Tenant) -> None:
    assert post(client, minimal_event(idempotency_key="k-1", description="a")).status_code == 201
    head = tb.store.chain_head(tenant.id)

    answer = post(client, minimal_event(idempotency_key="k-1", description="b"))

    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "conflict"
    assert [d["field"] for d in error["details"]] == ["idempotency_key"]
    assert tb.store.chain_head(tenant.id) == head
    assert last_seq(client) == 1


def test_same_header_key_with_different_content_is_a_conflict(client: TestClient) -> None:
    assert post(client, minimal_event(), **{"Idempotency-Key": "h-1"}).status_code == 201

    answer = post(client, minimal_event(severity="critical"), **{"Idempotency-Key": "h-1"})

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "idempotency_key"
    assert last_seq(client) == 1


def test_conflict_in_a_batch_stores_nothing_of_the_batch(client: TestClient) -> None:
    assert post(client, minimal_event(idempotency_key="k-1")).status_code == 201

    batch = [minimal_event(description="new"),
             minimal_event(idempotency_key="k-1", description="changed")]
    answer = post(client, batch)

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "conflict"
    assert last_seq(client) == 1


def test_a_batch_with_keys_sent_again_is_all_duplicates(client: TestClient) -> None:
    batch = [minimal_event(idempotency_key=f"b-{n}", description=f"n{n}") for n in range(4)]
    first = post(client, batch)
    again = post(client, batch)

    assert first.status_code == 201
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["stored"] == 0
    assert body["duplicates"] == 4
    assert [(e["id"], e["seq"]) for e in body["events"]] == [
        (e["id"], e["seq"]) for e in first.json()["events"]
    ]
    assert all(e["duplicate"] for e in body["events"])
    assert last_seq(client) == 4


def test_a_batch_sent_again_with_the_same_header_is_all_duplicates(client: TestClient) -> None:
    batch = [minimal_event(description=f"n{n}") for n in range(3)]
    first = post(client, batch, **{"Idempotency-Key": "upload-7"})
    again = post(client, batch, **{"Idempotency-Key": "upload-7"})

    assert first.status_code == 201
    assert again.status_code == 200, again.text
    assert [e["seq"] for e in again.json()["events"]] == [1, 2, 3]
    assert all(e["duplicate"] for e in again.json()["events"])
    assert last_seq(client) == 3


def test_a_partly_repeated_batch_stores_only_the_new_events(client: TestClient) -> None:
    post(client, [minimal_event(idempotency_key="p-1"), minimal_event(idempotency_key="p-2")])

    answer = post(client, [minimal_event(idempotency_key="p-2"),
                           minimal_event(idempotency_key="p-3")])

    assert answer.status_code == 201
    body = answer.json()
    assert [(e["seq"], e["duplicate"]) for e in body["events"]] == [(2, True), (3, False)]
    assert (body["stored"], body["duplicates"]) == (1, 1)
    assert last_seq(client) == 3


def test_the_same_key_twice_in_one_batch_stores_one_event(client: TestClient) -> None:
    event = minimal_event(idempotency_key="twice", description="same")

    answer = post(client, [event, minimal_event(description="other"), event])

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["stored"] == 2
    assert body["duplicates"] == 1
    first, other, repeat = body["events"]
    assert (repeat["id"], repeat["seq"]) == (first["id"], first["seq"])
    assert repeat["duplicate"] is True
    assert first["duplicate"] is False
    assert other["seq"] != first["seq"]
    assert last_seq(client) == 2
    assert len(every_event(client)) == 2


def test_the_same_key_twice_in_one_batch_with_different_content_is_refused(
    client: TestClient,
) -> None:
    answer = post(client, [minimal_event(idempotency_key="x", description="a"),
                           minimal_event(idempotency_key="x", description="b")])

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "idempotency_key"
    assert last_seq(client) == 0


def test_header_and_field_that_differ_are_refused(client: TestClient) -> None:
    answer = post(client, minimal_event(idempotency_key="field-key"),
                  **{"Idempotency-Key": "header-key"})

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "idempotency_key"
    assert last_seq(client) == 0


def test_idempotency_keys_are_per_tenant(client: TestClient, tb: Trailbook) -> None:
    other = tb.tenants.create("other")
    other_key = setup_key(tb, other)
    assert post(client, minimal_event(idempotency_key="shared")).status_code == 201

    answer = client.post(EVENTS, json=minimal_event(idempotency_key="shared"),
                         headers={"Authorization": f"Bearer {other_key}"})

    assert answer.status_code == 201, answer.text
    assert answer.json()["events"][0]["duplicate"] is False
    assert answer.json()["events"][0]["seq"] == 1
