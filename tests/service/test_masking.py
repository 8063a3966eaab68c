"""Personal-data masking (service/access/masking.py) for callers without the
``personal_data`` permission: emails and IP addresses, wherever they are in an event;
the server's own fields left alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from trailbook.service.access.masking import mask_email, mask_event, mask_text, mask_value


@pytest.mark.parametrize(("text", "masked"), [
    ("ana@example.com", "a***@example.com"),
    ("Ana.Smith+audit@mail.example.co.uk", "A***@mail.example.co.uk"),
    ("x@example.org", "x***@example.org"),
    ("from ana@example.com to bob_99@example.net.",
     "from a***@example.com to b***@example.net."),
])
def test_emails_keep_their_first_letter_and_domain(text: str, masked: str) -> None:
    assert mask_email(text) == masked
    assert mask_text(text) == masked


@pytest.mark.parametrize(("text", "masked"), [
    ("203.0.113.7", "203.0.113.x"),
    ("10.1.2.255", "10.1.2.x"),
    ("login from 198.51.100.23 failed", "login from 198.51.100.x failed"),
    ("203.0.113.7, 192.0.2.1", "203.0.113.x, 192.0.2.x"),
])
def test_ipv4_addresses_lose_their_last_octet(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(("text", "masked"), [
    ("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3:x:x:x:x:x"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3:x:x:x:x:x"),
    ("2001:db8::1", "2001:db8:0:x:x:x:x:x"),
    ("::1", "0:0:0:x:x:x:x:x"),
    ("fe80::1ff:fe23:4567:890a", "fe80:0:0:x:x:x:x:x"),
    ("client [2001:db8:1:2::5]:443 left", "client [2001:db8:1:x:x:x:x:x]:443 left"),
])
def test_ipv6_addresses_keep_their_first_48_bits(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", [
    "", "Rebooted 12 miners in rack B4", "version 1.2.3", "at 10:11:12 on 2026-05-28",
    "2026-05-28T10:11:12.000000Z", "user:42", "api_key:7", "deadbeef", "a:b",
    "00:1a:2b", "50% done @ step 3", "ünïcode ✓ 🙂",
])
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert mask_text(text) == text
    assert mask_value(text) == text


def test_nested_lists_and_dicts_are_masked_keys_too() -> None:
    value = {
        "notified": ["ana@example.com", {"ip": "203.0.113.7", "n": 3}],
        "bob@example.com": {"from": "2001:db8:1:2::5", "ok": True, "none": None},
        "deep": [[["198.51.100.1"]], 1.5],
    }
    assert mask_value(value) == {
        "notified": ["a***@example.com", {"ip": "203.0.113.x", "n": 3}],
        "b***@example.com": {"from": "2001:db8:1:x:x:x:x:x", "ok": True, "none": None},
        "deep": [[["198.51.100.x"]], 1.5],
    }


def event(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "tenant": "acme",
        "seq": 7,
        "occurred_at": "2026-05-28T10:11:12.000000Z",
        "received_at": "2026-05-28T10:11:13.500000Z",
        "hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "category": "access",
        "action": "auth.login",
        "actor": {"id": "user:3", "type": "user", "name": "Ana Smith",
                  "email": "ana@example.com"},
        "source": {"ip": "203.0.113.7", "user_agent": "curl/8.5"},
        "description": "ana@example.com signed in from 2001:db8:1:2::5",
        "metadata": {"attempts": [{"ip": "198.51.100.9", "at": "10:11"}],
                     "contacts": {"primary": "bob@example.com"}},
        "changes": [{"field": "email", "old": "old@example.com", "new": "new@example.com"},
                    {"field": "allowed", "old": ["10.0.0.1"], "new": {"ip": "::1"}}],
    }
    doc.update(fields)
    return doc


def test_an_event_is_masked_everywhere_and_marked() -> None:
    doc = event()
    before = copy.deepcopy(doc)
    masked = mask_event(doc)
    assert doc == before  # the input is not changed
    assert masked["masked"] is True
    assert masked["actor"] == {"id": "user:3", "type": "user", "name": "Ana Smith",
                               "email": "a***@example.com"}
    assert masked["source"] == {"ip": "203.0.113.x", "user_agent": "curl/8.5"}
    assert masked["description"] == "a***@example.com signed in from 2001:db8:1:x:x:x:x:x"
    assert masked["metadata"] == {"attempts": [{"ip": "198.51.100.x", "at": "10:11"}],
                                  "contacts": {"primary": "b***@example.com"}}
    assert masked["changes"] == [
        {"field": "email", "old": "o***@example.com", "new": "n***@example.com"},
        {"field": "allowed", "old": ["10.0.0.x"], "new": {"ip": "0:0:0:x:x:x:x:x"}}]
    for field in ("id", "tenant", "seq", "occurred_at", "received_at", "hash", "category",
                  "action"):
        assert masked[field] == doc[field]
    assert set(masked) == {*doc, "masked"}


def test_server_fields_are_kept_even_when_they_look_like_addresses() -> None:
    # Values that the masking would change anywhere else: kept in the server's fields.
    looks_personal = {
        "id": "2001:db8::1", "occurred_at": "fe80::1:2:3", "received_at": "::1",
        "hash": "1:2:3:4:5:6:7:8", "action": "ab::cd", "category": "a::b",
    }
    for value in looks_personal.values():
        assert mask_text(value) != value
    masked = mask_event(event(**looks_personal))
    for field, value in looks_personal.items():
        assert masked[field] == value
    assert masked["actor"]["email"] == "a***@example.com"


def test_an_event_without_personal_data_only_gains_the_mark() -> None:
    doc = event(actor={"id": "svc-9", "type": "service"}, source={},
                description="nightly backup finished", metadata={"files": 12},
                changes=[{"field": "retention", "old": 30, "new": 90}])
    assert mask_event(doc) == {**doc, "masked": True}
