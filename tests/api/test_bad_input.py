"""Bad input to POST /api/v1/events: the documented 4xx, an error body naming the
offending field, and nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

EVENTS = "/api/v1/events"
MAX_SAFE = 2**53 - 1


def last_seq(client: TestClient) -> int:
    answer = client.get("/api/v1/verify")
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True
    return int(answer.json()["last_seq"])


def error_of(answer: Any, status: int, code: str) -> dict[str, Any]:
    """Check the status and the error shape; return the error."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["details"], error
    for detail in error["details"]:
        assert set(detail) == {"field", "reason"}, detail
        assert isinstance(detail["reason"], str) and detail["reason"]
    return dict(error)


def fields_of(error: dict[str, Any]) -> list[str]:
    return [d["field"] for d in error["details"]]


@pytest.fixture
def unchanged(client: TestClient, tb: Trailbook, tenant: Tenant) -> Iterator[None]:
    """One event is stored before the test; after it, the chain must be as it was."""
    assert client.post(EVENTS, json=minimal_event()).status_code == 201
    head = tb.store.chain_head(tenant.id)
    assert head is not None and head.seq == 1
    yield
    assert tb.store.chain_head(tenant.id) == head
    assert last_seq(client) == 1
    listed = client.get(EVENTS, params={"limit": 500}).json()["events"]
    assert [e["seq"] for e in listed] == [1]


def nested(levels: int) -> dict[str, Any]:
    """A metadata object ``levels`` objects deep, counting itself."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


# -- bodies that are not events --------------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("raw", [b"{bad", b'{"action": "user.login",',
                                 b'[{"action": "user.login"', b"\xff\xfe",
                                 b'{"action": "a", "actor": {"id": "u"}} trailing'])
def test_malformed_json_is_400(client: TestClient, raw: bytes) -> None:
    answer = client.post(EVENTS, content=raw, headers={"Content-Type": "application/json"})

    error = error_of(answer, 400, "malformed_request")
    assert fields_of(error) == ["body"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("raw", [b"42", b'"user.login"', b"true", b"null", b"[1, 2]",
                                 b'["user.login"]'])
def test_a_json_value_that_is_not_an_event_is_refused(client: TestClient, raw: bytes) -> None:
    answer = client.post(EVENTS, content=raw, headers={"Content-Type": "application/json"})

    error = error_of(answer, 422, "validation_failed")
    assert len(error["details"]) == 1
    # A scalar body names the body; a scalar inside a batch names its place.
    assert fields_of(error)[0] in ("body", "events[0]"), error


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("raw", [b"", b"   \n\t"])
def test_empty_body_is_refused(client: TestClient, raw: bytes) -> None:
    answer = client.post(EVENTS, content=raw, headers={"Content-Type": "application/json"})

    error = error_of(answer, 422, "validation_failed")
    assert fields_of(error) == ["body"]


@pytest.mark.usefixtures("unchanged")
def test_empty_batch_is_refused(client: TestClient) -> None:
    error = error_of(client.post(EVENTS, json=[]), 422, "validation_failed")
    assert fields_of(error) == ["events"]


# -- wrong types, unknown and server-owned fields ---------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"actor": {"id": 17}}, "actor.id"),
        ({"actor": "u-1"}, "actor"),
        ({"action": 5}, "action"),
        ({"targets": {"id": "t", "type": "x"}}, "targets"),
        ({"targets": [{"id": "t", "type": 3}]}, "targets[0].type"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"severity": "fatal"}, "severity"),
        ({"result": "ok"}, "result"),
        ({"actor": {"id": "u", "type": "robot"}}, "actor.type"),
        ({"action_type": "reboot"}, "action_type"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        ({"changes": [{"old": 1, "new": 2}]}, "changes[0].field"),
    ],
)
def test_wrong_types_name_the_field(client: TestClient, changes: dict[str, Any],
                                    field: str) -> None:
    answer = client.post(EVENTS, json=minimal_event(**changes))

    error = error_of(answer, 422, "validation_failed")
    assert fields_of(error) == [field]


@pytest.mark.usefixtures("unchanged")
def test_wrong_type_in_a_batch_names_the_event(client: TestClient) -> None:
    batch = [minimal_event(), minimal_event(), minimal_event(actor={"id": 17})]

    error = error_of(client.post(EVENTS, json=batch), 422, "validation_failed")

    assert fields_of(error) == ["events[2].actor.id"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("event", "field"),
    [
        (minimal_event(colour="red"), "colour"),
        (minimal_event(actor={"id": "u", "role": "admin"}), "actor.role"),
        (minimal_event(targets=[{"id": "t", "type": "x", "owner": "me"}]), "targets[0].owner"),
        (minimal_event(source={"ip": "10.0.0.1", "port": 22}), "source.port"),
        (minimal_event(changes=[{"field": "f", "old": 1, "new": 2, "by": "x"}]),
         "changes[0].by"),
    ],
)
def test_unknown_field_is_named(client: TestClient, event: dict[str, Any], field: str) -> None:
    error = error_of(client.post(EVENTS, json=event), 422, "validation_failed")

    assert error["details"] == [{"field": field, "reason": "unknown field"}]


@pytest.mark.usefixtures("unchanged")
def test_unknown_field_in_a_batch_names_the_event(client: TestClient) -> None:
    batch = [minimal_event(), minimal_event(colour="red")]

    error = error_of(client.post(EVENTS, json=batch), 422, "validation_failed")

    assert error["details"] == [{"field": "events[1].colour", "reason": "unknown field"}]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "01900000-0000-7000-8000-000000000000", "assigned by the server"),
        ("seq", 1, "assigned by the server"),
        ("hash", "00" * 32, "assigned by the server"),
        ("received_at", "2026-01-01T00:00:00Z", "assigned by the server"),
        ("tenant", "acme", "taken from the API key"),
        ("tenant", None, "taken from the API key"),
    ],
)
def test_server_owned_field_is_refused(client: TestClient, field: str, value: Any,
                                       reason: str) -> None:
    answer = client.post(EVENTS, json=minimal_event(**{field: value}))

    error = error_of(answer, 422, "validation_failed")
    assert error["details"] == [{"field": field, "reason": reason}]


@pytest.mark.usefixtures("unchanged")
def test_every_server_owned_field_is_named(client: TestClient) -> None:
    event = minimal_event(id="x", tenant="other", seq=9, received_at="x", hash="x")

    error = error_of(client.post(EVENTS, json=event), 422, "validation_failed")

    assert {d["field"]: d["reason"] for d in error["details"]} == {
        "id": "assigned by the server",
        "tenant": "taken from the API key",
        "seq": "assigned by the server",
        "received_at": "assigned by the server",
        "hash": "assigned by the server",
    }


@pytest.mark.usefixtures("unchanged")
def test_server_owned_field_in_a_batch_names_the_event(client: TestClient) -> None:
    batch = [minimal_event(), minimal_event(), minimal_event(), minimal_event(seq=4)]

    error = error_of(client.post(EVENTS, json=batch), 422, "validation_failed")

    assert error["details"] == [{"field": "events[3].seq", "reason": "assigned by the server"}]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"actor": {"id": "u-1"}}, "action"),
        ({"action": "user.login"}, "actor"),
        ({"action": "user.login", "actor": {"name": "Alice"}}, "actor.id"),
        (minimal_event(targets=[{"id": "t"}]), "targets[0].type"),
        ({}, None),
    ],
)
def test_missing_required_field_is_named(client: TestClient, event: dict[str, Any],
                                         field: str | None) -> None:
    error = error_of(client.post(EVENTS, json=event), 422, "validation_failed")

    (detail,) = error["details"]
    if field is None:  # both are missing; either may be named first
        assert detail["field"] in ("action", "actor")
    else:
        assert detail["field"] == field
    assert detail["reason"] == "required field is missing"


# -- sizes -------------------------------------------------------------------------


def test_a_batch_of_the_maximum_size_is_accepted(client: TestClient, tb: Trailbook) -> None:
    limit = tb.settings.max_batch_events
    answer = client.post(EVENTS, json=[minimal_event()] * limit)

    assert answer.status_code == 201, answer.text
    assert answer.json()["stored"] == limit
    assert last_seq(client) == limit


@pytest.mark.usefixtures("unchanged")
def test_oversized_batch_is_refused(client: TestClient, tb: Trailbook) -> None:
    batch = [minimal_event()] * (tb.settings.max_batch_events + 1)

    error = error_of(client.post(EVENTS, json=batch), 422, "validation_failed")

    assert fields_of(error) == ["events"]


@pytest.mark.usefixtures("unchanged")
def test_body_over_the_byte_limit_is_413(client: TestClient, tb: Trailbook) -> None:
    event = json.dumps(minimal_event()).encode()
    # Valid JSON (whitespace is allowed), one byte over the limit.
    body = event + b" " * (tb.settings.max_body_bytes - len(event) + 1)
    assert len(body) == tb.settings.max_body_bytes + 1

    answer = client.post(EVENTS, content=body, headers={"Content-Type": "application/json"})

    error = error_of(answer, 413, "payload_too_large")
    assert fields_of(error) == ["body"]


def test_body_at_the_byte_limit_is_accepted(client: TestClient, tb: Trailbook) -> None:
    event = json.dumps(minimal_event()).encode()
    body = event + b" " * (tb.settings.max_body_bytes - len(event))

    answer = client.post(EVENTS, content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 201, answer.text
    assert last_seq(client) == 1


def at_limit_and_over() -> list[tuple[str, dict[str, Any], dict[str, Any], str]]:
    """(name, event at the limit, event just over it, the field to be named)."""
    target = {"id": "t", "type": "x"}
    filler = "x" * (32 * 1024 - len('{"blob":""}'))
    changes_filler = "x" * (32 * 1024 - len('[{"field":"f","old":null,"new":""}]'))
    # Numbers msgspec writes four times as long as the canonical form does ("-0.0"
    # against "0"): the limits hold on msgspec's JSON, however short the canonical one.
    zeros = [-0.0] * 6000
    zeros_filler = "x" * (32 * 1024 - len(msgspec.json.encode({"l": zeros, "s": ""})))
    changes_zeros_filler = "x" * (32 * 1024 - len(msgspec.json.encode(
        [{"field": "f", "old": zeros, "new": ""}])))
    return [
        ("description", minimal_event(description="d" * 2000),
         minimal_event(description="d" * 2001), "description"),
        ("action", minimal_event(action="a" * 128), minimal_event(action="a" * 129), "action"),
        ("targets", minimal_event(targets=[target] * 64),
         minimal_event(targets=[target] * 65), "targets"),
        ("depth", minimal_event(metadata=nested(8)), minimal_event(metadata=nested(9)),
         "metadata" + ".a" * 8),
        ("metadata bytes", minimal_event(metadata={"blob": filler}),
         minimal_event(metadata={"blob": filler + "x"}), "metadata"),
        ("metadata bytes with a float", minimal_event(metadata={"blob": filler[:-8], "f": 0.5}),
         minimal_event(metadata={"blob": filler[:-7], "f": 0.5}), "metadata"),
        ("changes bytes", minimal_event(changes=[{"field": "f", "new": changes_filler}]),
         minimal_event(changes=[{"field": "f", "new": changes_filler + "x"}]), "changes"),
        ("metadata bytes of negative zeros",
         minimal_event(metadata={"l": zeros, "s": zeros_filler}),
         minimal_event(metadata={"l": zeros, "s": zeros_filler + "x"}), "metadata"),
        ("changes bytes of negative zeros",
         minimal_event(changes=[{"field": "f", "old": zeros, "new": changes_zeros_filler}]),
         minimal_event(changes=[{"field": "f", "old": zeros, "new": changes_zeros_filler + "x"}]),
         "changes"),
        ("big int", minimal_event(metadata={"n": MAX_SAFE}),
         minimal_event(metadata={"n": MAX_SAFE + 1}), "metadata.n"),
        ("negative int", minimal_event(metadata={"n": -MAX_SAFE}),
         minimal_event(metadata={"n": -MAX_SAFE - 1}), "metadata.n"),
        ("int in a list", minimal_event(metadata={"l": [1, MAX_SAFE]}),
         minimal_event(metadata={"l": [1, 2**64]}), "metadata.l[1]"),
        ("metadata key", minimal_event(metadata={"l": [{"k" * 128: 1}]}),
         minimal_event(metadata={"l": [{"k" * 129: 1}]}), "metadata.l[0]." + "k" * 20 + "…"),
        ("int in a change", minimal_event(changes=[{"field": "f", "new": MAX_SAFE}]),
         minimal_event(changes=[{"field": "f", "new": 2**53}]), "changes[0].new"),
        ("actor id", minimal_event(actor={"id": "i" * 256}),
         minimal_event(actor={"id": "i" * 257}), "actor.id"),
        ("scope", minimal_event(scope="s" * 128), minimal_event(scope="s" * 129), "scope"),
        ("reason", minimal_event(result="failure", reason="r" * 1000),
         minimal_event(result="failure", reason="r" * 1001), "reason"),
    ]


LIMITS = at_limit_and_over()


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("name", "ok", "over", "field"), LIMITS, ids=[c[0] for c in LIMITS])
def test_field_over_its_limit_is_refused(client: TestClient, name: str, ok: dict[str, Any],
                                         over: dict[str, Any], field: str) -> None:
    error = error_of(client.post(EVENTS, json=over), 422, "validation_failed")

    assert fields_of(error) == [field]


@pytest.mark.parametrize(("name", "ok", "over", "field"), LIMITS, ids=[c[0] for c in LIMITS])
def test_field_at_its_limit_is_accepted(client: TestClient, name: str, ok: dict[str, Any],
                                        over: dict[str, Any], field: str) -> None:
    answer = client.post(EVENTS, json=ok)

    assert answer.status_code == 201, answer.text
    stored = client.get(f"{EVENTS}/{answer.json()['events'][0]['id']}").json()
    for key, value in ok.items():
        if isinstance(value, list):  # targets and changes come back with every key
            assert len(stored[key]) == len(value), key
        elif key != "actor":
            assert stored[key] == value, key


# -- formats -------------------------------------------------------------------------


def _in(**delta: float) -> str:
    moment = datetime.now(UTC) + timedelta(**delta)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action": "Miner.Reboot"}, "action"),
        ({"action": "miner..reboot"}, "action"),
        ({"action": "miner.reboot."}, "action"),
        ({"action": "miner reboot"}, "action"),
        ({"actor": {"id": "u", "email": "alice.example.com"}}, "actor.email"),
        ({"actor": {"id": "u", "email": "alice@"}}, "actor.email"),
        ({"source": {"ip": "300.1.1.1"}}, "source.ip"),
        ({"source": {"ip": "10.0.0"}}, "source.ip"),
        ({"source": {"ip": "2001:db8::g"}}, "source.ip"),
        ({"source": {"ip": "10.0.0.0/8"}}, "source.ip"),
        ({"source": {"country": "DEU"}}, "source.country"),
        ({"source": {"country": "D1"}}, "source.country"),
        ({"category": "billing"}, "category"),
        ({"category": "Device"}, "category"),
        ({"reason": "no reason"}, "reason"),
        ({"result": "success", "reason": "because"}, "reason"),
        ({"occurred_at": "2026-01-15T12:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "1969-12-31T23:59:59Z"}, "occurred_at"),
        ({"actor": {"id": ""}}, "actor.id"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_format_is_refused(client: TestClient, changes: dict[str, Any], field: str) -> None:
    error = error_of(client.post(EVENTS, json=minimal_event(**changes)), 422,
                     "validation_failed")

    assert fields_of(error) == [field]


@pytest.mark.usefixtures("unchanged")
def test_occurred_at_two_days_ahead_is_refused(client: TestClient) -> None:
    answer = client.post(EVENTS, json=minimal_event(occurred_at=_in(days=2)))

    error = error_of(answer, 422, "validation_failed")
    assert fields_of(error) == ["occurred_at"]


def test_occurred_at_a_little_ahead_is_accepted(client: TestClient) -> None:
    answer = client.post(EVENTS, json=minimal_event(occurred_at=_in(hours=23)))

    assert answer.status_code == 201, answer.text


def test_a_failure_may_carry_a_reason(client: TestClient) -> None:
    answer = client.post(EVENTS, json=minimal_event(result="failure", reason="bad password"))

    assert answer.status_code == 201, answer.text


# -- all or nothing ----------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"actor": {"id": 7}}, "events[7].actor.id"),
        ({"action": "Miner.Reboot"}, "events[7].action"),
        ({"source": {"ip": "300.1.1.1"}}, "events[7].source.ip"),
        ({"metadata": {"n": 2**53}}, "events[7].metadata.n"),
        ({"hash": "00"}, "events[7].hash"),
        ({"colour": "red"}, "events[7].colour"),
        ({"category": "nope"}, "events[7].category"),
    ],
)
def test_one_bad_event_in_a_batch_stores_nothing(client: TestClient, bad: dict[str, Any],
                                                 field: str) -> None:
    batch = [minimal_event(description=f"good {n}") for n in range(10)]
    batch[7] = minimal_event(**bad)

    error = error_of(client.post(EVENTS, json=batch), 422, "validation_failed")

    assert fields_of(error) == [field]
    # None of the good events was stored either (checked by the fixture, and here).
    found = client.get(EVENTS, params={"q": "good"}).json()["events"]
    assert found == []


@pytest.mark.usefixtures("unchanged")
def test_the_first_bad_event_of_a_batch_is_named(client: TestClient) -> None:
    batch = [minimal_event() for _ in range(10)]
    batch[4] = minimal_event(action="Bad")
    batch[8] = minimal_event(action="Worse")

    error = error_of(client.post(EVENTS, json=batch), 422, "validation_failed")

    assert fields_of(error) == ["events[4].action"]
