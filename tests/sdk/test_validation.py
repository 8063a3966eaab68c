"""Bad events raise InvalidEvent in the caller's thread, naming the field as the server
does; the SDK's copies of the server's patterns are the server's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trailbook.model import normalize
from trailbook.sdk import Client, InvalidEvent
from trailbook.sdk import _event as sdk_event
from trailbook.sdk.testing import capture

CLIENT = Client.__new__(Client)  # log() needs no connection under capture()


def test_patterns_are_the_servers() -> None:
    for name in ("ACTION_RE", "EMAIL_RE", "COUNTRY_RE"):
        assert getattr(sdk_event, name).pattern == getattr(normalize, name).pattern


@pytest.mark.parametrize(("fields", "field"), [
    ({"action": "Bad Action"}, "action"),
    ({"action": "x" * 129}, "action"),
    ({"actor": None}, "actor"),
    ({"actor": {"name": "no id"}}, "actor.id"),
    ({"actor": {"id": "u", "emial": "typo"}}, "actor.emial"),
    ({"actor": {"id": "u", "email": "not-an-email"}}, "actor.email"),
    ({"actor": {"id": "u", "type": "robot"}}, "actor.type"),
    ({"targets": [{"type": "doc", "id": "1"}, {"id": "2"}]}, "targets[1].type"),
    ({"targets": [("doc", "")]}, "targets[0].id"),
    ({"severity": "high"}, "severity"),
    ({"result": "ok"}, "result"),
    ({"reason": "because"}, "reason"),
    ({"action_type": "destroy"}, "action_type"),
    ({"description": "x" * 2001}, "description"),
    ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at"),  # no time zone
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": datetime.now(UTC) + timedelta(days=2)}, "occurred_at"),
    ({"source": {"ip": "300.1.1.1"}}, "source.ip"),
    ({"source": {"country": "D1"}}, "source.country"),
    ({"source": {"addr": "x"}}, "source.addr"),
    ({"metadata": {"n": 2**60}}, "metadata.n"),
    ({"metadata": {"x": float("nan")}}, "metadata.x"),
    ({"metadata": {"k" * 129: 1}}, "metadata.kkkkkkkkkkkkkkkkkkkk…"),
    ({"metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}},
     "metadata.a.b.c.d.e.f.g.h"),
    ({"metadata": {"blob": "x" * 40_000}}, "metadata"),
    ({"metadata": {"obj": object()}}, "metadata"),
    ({"changes": [{"field": "", "old": 1}]}, "changes[0].field"),
    ({"changes": {"price": (1, 2**60)}}, "changes[0].new"),
    ({"changes": {"price": 5}}, "changes.price"),
    ({"changes": {"notes": ("", "x" * 70_000)}}, "changes"),  # over its size limit
    ({"changes": {"when": (None, object())}}, "changes"),  # not JSON
    ({"idempotency_key": ""}, "idempotency_key"),
])
def test_bad_events_name_the_field(fields: dict[str, Any], field: str) -> None:
    call: dict[str, Any] = {"action": "doc.update", "actor": "u-1", **fields}
    action = call.pop("action")
    with capture() as events, pytest.raises(InvalidEvent) as raised:
        CLIENT.log(action, **call)
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)
    assert events == []


def test_a_full_event_passes_as_given() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with capture() as events:
        key = CLIENT.log(
            "client.bill.update", actor={"id": "u-1", "email": "a@b.example", "type": "user"},
            targets=[("bill", "b-1", "March"), {"type": "client", "id": "c-1"}],
            category="admin", action_type="update", result="failure", reason="declined",
            severity="warning", description="Tried to change the bill",
            changes=[{"field": "total", "old": 1.5, "new": 2}], metadata={"n": [1, "a"]},
            scope="billing", source={"ip": "203.0.113.5", "country": "de"},
            occurred_at=moment, request_id="r-1", session_id="s-1", idempotency_key="k-1")
    assert key == "k-1"
    event = events.one("client.bill.update")
    assert event["targets"] == [{"type": "bill", "id": "b-1", "name": "March"},
                                {"type": "client", "id": "c-1"}]
    assert event["occurred_at"] == "2026-03-01T12:00:00.123456+00:00"
    assert event["changes"] == [{"field": "total", "old": 1.5, "new": 2}]


def test_default_keys_are_uuid7_and_time_is_now() -> None:
    with capture() as events:
        key = CLIENT.log("doc.read", actor="u-1")
    assert key[14] == "7" and len(key) == 36
    stamp = events[0]["occurred_at"]
    assert stamp.endswith("Z") and len(stamp) == 27
    parsed = datetime.fromisoformat(stamp)
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 3600


def test_metadata_is_a_snapshot() -> None:
    with capture() as events:
        meta: dict[str, Any] = {"a": 1}
        CLIENT.log("doc.read", actor="u-1", metadata=meta)
        meta["a"] = 2
    assert events[0]["metadata"] == {"a": 1}
