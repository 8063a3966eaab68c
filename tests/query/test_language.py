"""The query language: a table of queries and the filter each parses into, and a
table of malformed queries with the position each error names."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from trailbook.errors import QuerySyntaxError, ValidationFailed
from trailbook.model.timefmt import parse_rfc3339
from trailbook.query.filters import EventFilter
from trailbook.query.language import combine, parse_query

NOW = parse_rfc3339("2026-11-23T12:00:00Z")
HOUR = 3_600_000_000
DAY = 24 * HOUR


def net(text: str) -> Any:
    return ipaddress.ip_network(text)


def us(text: str) -> int:
    return parse_rfc3339(text)


PARSED: list[tuple[str, EventFilter]] = [
    ("", EventFilter()),
    ("   ", EventFilter()),
    ("reboot", EventFilter(text="reboot")),
    ("reboot rack", EventFilter(text="reboot rack")),
    ('"pool change"', EventFilter(text='"pool change"')),
    ('firmware "rack B4" failed', EventFilter(text='firmware "rack B4" failed')),
    ("actor:alice@example.com", EventFilter(actor="alice@example.com")),
    ("actor:olga actor:petrova", EventFilter(actor="olga petrova")),
    ('actor:"Olga Petrova"', EventFilter(actor="Olga Petrova")),
    ("actor.email:Alice@Example.com", EventFilter(actor_emails=("Alice@Example.com",))),
    ("actor.id:u-17", EventFilter(actor_ids=("u-17",))),
    ("actor.type:automation", EventFilter(actor_types=("automation",))),
    ("action:miner.reboot", EventFilter(actions=("miner.reboot",))),
    ("action:miner.*", EventFilter(action_prefixes=("miner",))),
    ("action:miner.*,pool.change", EventFilter(actions=("pool.change",),
                                               action_prefixes=("miner",))),
    ("action:client.bill.* action:payment.*",
     EventFilter(action_prefixes=("client.bill", "payment"))),
    ("category:device", EventFilter(categories=("device",))),
    ("category:device,task", EventFilter(categories=("device", "task"))),
    ("type:delete", EventFilter(action_types=("delete",))),
    ("type:login,logout", EventFilter(action_types=("login", "logout"))),
    ("target:rack-b4", EventFilter(target="rack-b4")),
    ("target.id:c-1,2", EventFilter(target_ids=("c-1,2",))),  # ids keep their commas
    ('target.name:"Rack B4"', EventFilter(target_names=("Rack B4",))),
    ("target.type:miner", EventFilter(target_types=("miner",))),
    ("scope:finance", EventFilter(scopes=("finance",))),
    ("result:failure", EventFilter(results=("failure",))),
    ("severity:critical,warning", EventFilter(severities=("critical", "warning"))),
    ("ip:10.0.0.0/8", EventFilter(ips=(net("10.0.0.0/8"),))),
    ("ip:10.1.2.3", EventFilter(ips=(net("10.1.2.3/32"),))),
    ("ip:2001:db8::/32", EventFilter(ips=(net("2001:db8::/32"),))),
    ("request:req-9", EventFilter(request_ids=("req-9",))),
    ("session:s-1", EventFilter(session_ids=("s-1",))),
    ("tag:vip", EventFilter(tags=("vip",))),
    ("tag:VIP,incident:42 tag:vip", EventFilter(tags=("vip", "incident:42"))),
    ("-tag:spam", EventFilter(exclude=EventFilter(tags=("spam",)))),
    ("after:2026-01-01", EventFilter(since_us=us("2026-01-01T00:00:00Z"))),
    ("before:2026-02-01T10:00:00Z", EventFilter(until_us=us("2026-02-01T10:00:00Z"))),
    ("after:2026-01-01 before:2026-02-01", EventFilter(
        since_us=us("2026-01-01T00:00:00Z"), until_us=us("2026-02-01T00:00:00Z"))),
    ("last:24h", EventFilter(since_us=NOW - DAY)),
    ("last:30m result:failure", EventFilter(since_us=NOW - HOUR // 2, results=("failure",))),
    ("after:7d", EventFilter(since_us=NOW - 7 * DAY)),
    ("-result:success", EventFilter(exclude=EventFilter(results=("success",)))),
    ("-scope:test -category:system", EventFilter(exclude=EventFilter(
        scopes=("test",), categories=("system",)))),
    ("-reboot", EventFilter(exclude=EventFilter(text="reboot"))),
    ('-"dry run"', EventFilter(exclude=EventFilter(text='"dry run"'))),
    ("-ip:10.0.0.0/8 ip:192.168.0.0/16", EventFilter(
        ips=(net("192.168.0.0/16"),), exclude=EventFilter(ips=(net("10.0.0.0/8"),)))),
    ("miner.reboot", EventFilter(text="miner.reboot")),  # no colon: a word
    ("well-known", EventFilter(text="well-known")),  # a '-' inside a word is the word's
    ('actor:alice@example.com action:miner.* result:failure ip:10.0.0.0/8 '
     'after:2026-01-01 "pool change"', EventFilter(
         actor="alice@example.com", action_prefixes=("miner",), results=("failure",),
         ips=(net("10.0.0.0/8"),), since_us=us("2026-01-01T00:00:00Z"),
         text='"pool change"')),
    ("action:withdrawal.* result:failure last:7d -actor.type:automation", EventFilter(
        action_prefixes=("withdrawal",), results=("failure",), since_us=NOW - 7 * DAY,
        exclude=EventFilter(actor_types=("automation",)))),
]


@pytest.mark.parametrize(("query", "expected"), PARSED, ids=[q or "<empty>" for q, _ in PARSED])
def test_parses(query: str, expected: EventFilter) -> None:
    assert parse_query(query, NOW) == expected


MALFORMED: list[tuple[str, int, str]] = [
    ('"open phrase', 1, 'closing "'),
    ('reboot "open', 8, 'closing "'),
    ("foo:bar", 1, "unknown field 'foo'"),
    ("reboot http://example.com", 8, "unknown field 'http'"),
    ("actor:", 7, "expected a value after 'actor:'"),
    ("result:maybe", 8, "'maybe' is not one of success, failure"),
    ("severity:loud", 10, "not one of"),
    ("type:grant", 6, "'grant' is not one of"),
    ("actor.type:robot", 12, "not one of"),
    ("ip:10.0.0.300", 4, "not an IP address"),
    ("ip:2001::/16", 4, "too wide"),
    ("after:yesterday", 7, "RFC 3339"),
    ("before:2026-02-30", 8, "day is out of range"),
    ("last:forever", 6, "a span such as"),
    ("last:24h after:2026-01-01", 1, "either 'last:' or 'after:'"),
    ("after:2026-02-01 before:2026-01-01", 25, "must be later than the start"),
    ("-after:2026-01-01", 1, "cannot be negated"),
    ("after:2026-01-01 after:2026-02-01", 18, "once only"),
    ("reboot - rack", 8, "expected a term after '-'"),
    ("reboot -", 8, "expected a term after '-'"),
    ("!!!", 1, "letters or digits"),
    ('""', 1, "letters or digits"),
    ('action:"miner.*"x', 17, "space after the closing quote"),
    ('rack"B4"', 5, "space before a quote"),
    ("action:.*", 8, "at least one segment"),
    ('tag:"two words"', 5, "is not a tag"),
    ("reboot tag:-x", 12, "is not a tag"),
    ("x" * 2001, 2001, "at most 2000 characters"),
]


@pytest.mark.parametrize(("query", "position", "expected"), MALFORMED,
                         ids=[q[:30] for q, _, _ in MALFORMED])
def test_malformed_names_the_position(query: str, position: int, expected: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query, NOW)
    assert caught.value.position == position, caught.value.message
    assert expected in caught.value.message
    assert caught.value.status == 400
    body = caught.value.as_dict()["error"]
    assert body["position"] == position
    assert body["details"][0]["field"] == "query"


def test_query_and_parameters_combine() -> None:
    flt = combine("action:miner.* rack", {"result": ["failure"], "q": ["reboot"]}, now=NOW)
    assert flt == EventFilter(action_prefixes=("miner",), results=("failure",),
                              text="rack reboot")


def test_a_field_given_both_ways_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="given twice"):
        combine("result:failure", {"result": ["success"]}, now=NOW)
