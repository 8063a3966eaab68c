"""GET /api/v1/events: every filter returns exactly the events a plain-Python reading of
what was posted says it should, newest first, and pages walk the whole result once.

About 60 varied events are posted once per module (in shuffled order, so seq order is
not time order); each test compares the API's answer with the expected set."""

from __future__ import annotations

import ipaddress
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import setup_key
from trailbook.api.app import create_app
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings

EVENTS = "/api/v1/events"
HOUR = timedelta(hours=1)

Event = dict[str, Any]
Params = dict[str, Any] | list[tuple[str, str]]

# -- the data set -------------------------------------------------------------------

ACTORS = [
    {"id": "u-alice", "name": "Alice Smith", "email": "alice.smith@example.com", "type": "user"},
    {"id": "u-bob", "name": "Bob Stone", "email": "Bob.Stone@Example.ORG", "type": "user"},
    {"id": "u-carol", "name": "Carol Jones", "email": "carol@mining.example", "type": "user"},
    {"id": "svc-billing", "name": "Billing Service", "email": None, "type": "system"},
    {"id": "key-7", "name": None, "email": None, "type": "api_key"},
    {"id": "auto-rebooter", "name": "Auto Rebooter", "email": "ops@example.com",
     "type": "automation"},
]
# action, category, the action type the server infers
ACTIONS = [
    ("miner.reboot", "device", "execute"),
    ("miner.pool.change", "device", "update"),
    ("miner.firmware.update", "device", "update"),
    ("client.bill.update", "client", "update"),
    ("client.account.create", "client", "create"),
    ("client.payment.refund", "client", "update"),
    ("user.login", "access", "login"),
    ("user.logout", "access", "logout"),
    ("report.export", "admin", "export"),
    ("role.grant", "admin", "permission"),
    ("cluster.scale", "system", "update"),
    ("minerals.tally", "task", "other"),  # shares a word start with miner, not a segment
]
DESCRIPTIONS = {
    "miner.reboot": "Rebooted 12 miners in rack B4",
    "miner.pool.change": "Pool change requested by operator",
    "miner.firmware.update": "Firmware upgraded to stable channel",
    "client.bill.update": "Updated the monthly bill",
    "client.account.create": "Opened a new account for the client",
    "client.payment.refund": "Refunded a duplicate payment",
    "user.login": "Signed in to the console",
    "user.logout": "Signed out",
    "report.export": "Exported the monthly report as xlsx",
    "role.grant": "Granted the auditor role",
    "cluster.scale": "Scaled the cluster to 5 nodes",
    "minerals.tally": "Tallied mineral stock",
}
IPS = [
    "10.1.2.5", "10.1.2.77", "10.1.3.9", "10.200.0.1", "172.16.5.4", "172.31.9.9",
    "172.32.0.1", "192.168.1.20", "11.0.0.1", "2001:db8:1:2::5", "2001:DB8:1:3::a",
    "2001:0db8:0001:0002:0000:0000:0000:00ff", "2001:db8:2::1", "fe80::1", None,
]
TARGETS = [
    [{"id": "rig-3", "name": "Rack B4 miner 3", "type": "miner"}],
    [{"id": "rig-17", "name": "Rack C1 miner 17", "type": "miner"},
     {"id": "pool-eu", "name": "EU Pool Main", "type": "pool"}],
    [{"id": "cl-100", "name": "Client Dmitri Ivanov", "type": "client"}],
    [{"id": "cl-200", "name": "Client Olga Petrova", "type": "client"},
     {"id": "bill-9", "name": None, "type": "bill"}],
    [],
    [{"id": "cluster-a", "name": "Production cluster", "type": "cluster"}],
]
SCOPES = ["finance", "bonuses", "facility-b", "facility-a", None]
REASONS = ["timeout contacting pool", "insufficient funds", "wrong password"]
SEVERITIES = ["info", "notice", "warning", "critical"]
COUNT = 60


def make_events(now: datetime) -> list[Event]:
    """COUNT events, i = 0 newest; every occurred_at differs and lies at least 17
    minutes away from every whole number of hours back from ``now``."""
    events = []
    for i in range(COUNT):
        action, category, _ = ACTIONS[(i * 5) % len(ACTIONS)]
        occurred = now - timedelta(hours=3 * i, minutes=17, microseconds=i * 1013)
        event: Event = {
            "action": action,
            "category": category,
            "actor": {k: v for k, v in ACTORS[i % len(ACTORS)].items() if v is not None},
            "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
            "severity": SEVERITIES[(i * 3 + i // 4) % 4],
            "targets": TARGETS[i % len(TARGETS)],
            "description": DESCRIPTIONS[action],
            "request_id": f"req-{i // 3}",
        }
        if i % 7 == 3:
            event["action_type"] = "read"  # sent by the client: wins over inference
        if i % 5 == 2:
            event["result"] = "failure"
            event["reason"] = REASONS[i % 3]
        ip = IPS[i % len(IPS)]
        if ip is not None or i % 2:
            event["source"] = {"ip": ip, "user_agent": "Mozilla/5.0", "country": "de"}
        scope = SCOPES[i % len(SCOPES)]
        if scope is not None:
            event["scope"] = scope
        if i % 4 != 1:
            event["session_id"] = f"sess-{i % 6}"
        if i % 6 == 1:
            event["changes"] = [{"field": "pool_url", "old": "stratum+tcp://a", "new": "b"}]
        if i % 9 == 0:
            event["metadata"] = {"site": "Zürich", "firmware": {"version": "v2", "vendor":
                                 "Bitmain"}, "count": i}
        events.append(event)
    # One event from the near future (allowed up to 24 h ahead).
    events.append({
        "action": "miner.reboot", "category": "device", "actor": {"id": "u-alice"},
        "occurred_at": (now + 2 * HOUR).isoformat().replace("+00:00", "Z"),
        "description": "Scheduled reboot window", "severity": "notice",
        "targets": [{"id": "rig-3", "name": "Rack B4 miner 3", "type": "miner"}],
    })
    return events


# -- the plain-Python reading ---------------------------------------------------------

_INFERRED = {action: kind for action, _, kind in ACTIONS}


def words(text: str | None) -> list[str]:
    """Words as the full-text index splits them: letters and digits, lower-case, without
    diacritics."""
    if not text:
        return []
    plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain.lower())


def when(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def action_type(event: Event) -> str:
    return str(event.get("action_type") or _INFERRED[event["action"]])


def ip_of(event: Event) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    source = event.get("source") or {}
    return ipaddress.ip_address(source["ip"]) if source.get("ip") else None


def text_fields(event: Event) -> list[str]:
    """Every field whose words `q` finds, each a separate piece of text."""
    actor = event["actor"]
    pieces = [event["action"].replace(".", " ").replace("_", " ")]
    pieces += [event.get(k) or "" for k in ("description", "reason", "scope")]
    pieces += [c["field"] for c in event.get("changes", [])]
    pieces += list(_strings(event.get("metadata", {})))
    pieces += [actor.get(k) or "" for k in ("id", "name", "email")]
    pieces += [t.get("name") or "" for t in event.get("targets", [])]
    return pieces


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def has_phrase(haystack: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(haystack[i:i + n] == phrase for i in range(len(haystack) - n + 1))


def matches_q(event: Event, query: str) -> bool:
    """Each bare word appears as a word; each "quoted phrase" appears, in order, within
    one field."""
    fields = [words(piece) for piece in text_fields(event)]
    every_word = {w for f in fields for w in f}
    phrases = re.findall(r'"([^"]*)"', query)
    rest = re.sub(r'"[^"]*"', " ", query)
    return all(w in every_word for w in words(rest)) and all(
        any(has_phrase(f, words(p)) for f in fields) for p in phrases)


def prefix_words(query: str, haystack: list[str]) -> bool:
    return all(any(h.startswith(w) for h in haystack) for w in words(query))


def matches_actor(event: Event, query: str) -> bool:
    actor = event["actor"]
    return prefix_words(query, [w for k in ("id", "name", "email") for w in words(actor.get(k))])


def matches_target(event: Event, query: str) -> bool:
    targets = event.get("targets", [])
    if any(t["id"] == query for t in targets):
        return True
    return prefix_words(query, [w for t in targets for w in words(t.get("name"))])


def matches_target_name(event: Event, name: str) -> bool:
    return any(has_phrase(words(t.get("name")), words(name)) for t in event.get("targets", []))


def in_network(event: Event, network: str) -> bool:
    address = ip_of(event)
    net = ipaddress.ip_network(network, strict=False)
    return address is not None and address.version == net.version and address in net


# -- fixtures -------------------------------------------------------------------------


class Trail:
    """The posted events (with the ids the server gave them) and a client."""

    def __init__(self, http: TestClient, events: list[Event], now: datetime) -> None:
        self.http = http
        self.events = events
        self.now = now

    def ids(self, keep: Callable[[Event], bool]) -> list[str]:
        """Ids of the matching events, newest first."""
        chosen = sorted((e for e in self.events if keep(e)), key=when, reverse=True)
        return [e["id"] for e in chosen]

    def search(self, params: Params) -> list[Event]:
        answer = self.http.get(EVENTS, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["events"]) <= 500
        return list(body["events"])

    def check(self, params: Params, keep: Callable[[Event], bool], *,
              at_least: int = 1) -> list[str]:
        """The search answers exactly the expected events, newest first."""
        query = list(params.items()) if isinstance(params, dict) else params
        found = self.search([*query, ("limit", "500")])
        expected = self.ids(keep)
        assert len(expected) >= at_least, f"the data set has too few matches for {params}"
        assert len(expected) < len(self.events) or not query, f"{params} filters nothing"
        got = [e["id"] for e in found]
        assert sorted(got) == sorted(expected), (
            f"{params}: unexpected {sorted(set(got) - set(expected))}, "
            f"missing {sorted(set(expected) - set(got))}")
        assert got == expected, f"{params}: not newest first"
        times = [e["occurred_at"] for e in found]
        assert times == sorted(times, reverse=True)
        return got


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    data: Path = tmp_path_factory.mktemp("search") / "data"
    tb = Trailbook.open(load_settings(data_dir=data))
    try:
        tenant = tb.tenants.create("acme")
        key = setup_key(tb, tenant)
        # A neighbour tenant with look-alike events, which must never show up.
        other = tb.tenants.create("other")
        other_key = setup_key(tb, other)
        now = datetime.now(UTC).replace(microsecond=0)
        events = make_events(now)
        with TestClient(create_app(tb)) as http:
            http.headers["Authorization"] = f"Bearer {other_key}"
            assert http.post(EVENTS, json=events[:20]).status_code == 201
            http.headers["Authorization"] = f"Bearer {key}"
            order = list(range(len(events)))
            random.Random(7).shuffle(order)
            for start in range(0, len(order), 9):  # batches of 9, and a single one
                chunk = order[start:start + 9]
                body: Any = [events[i] for i in chunk] if len(chunk) > 1 else events[chunk[0]]
                answer = http.post(EVENTS, json=body)
                assert answer.status_code == 201, answer.text
                for i, appended in zip(chunk, answer.json()["events"], strict=True):
                    events[i] = {**events[i], "id": appended["id"]}
            yield Trail(http, events, now)
    finally:
        tb.close()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- everything, and the time window ---------------------------------------------------


def test_no_filter_lists_every_event_of_the_tenant_newest_first(trail: Trail) -> None:
    found = trail.search({"limit": 500})

    assert [e["id"] for e in found] == trail.ids(lambda e: True)
    assert {e["tenant"] for e in found} == {"acme"}
    assert len(found) == COUNT + 1


def test_since_is_inclusive_and_until_exclusive(trail: Trail) -> None:
    by_time = sorted(trail.events, key=when)
    low, high = by_time[10], by_time[40]

    trail.check({"since": low["occurred_at"]}, lambda e: when(e) >= when(low))
    trail.check({"until": high["occurred_at"]}, lambda e: when(e) < when(high))
    got = trail.check({"since": low["occurred_at"], "until": high["occurred_at"]},
                      lambda e: when(low) <= when(e) < when(high))
    assert low["id"] in got
    assert high["id"] not in got
    assert len(got) == 30


def test_since_and_until_accept_offsets_dates_and_spans(trail: Trail) -> None:
    moment = trail.now - timedelta(days=2, hours=5)
    offset = moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    trail.check({"since": offset}, lambda e: when(e) >= moment)

    day = (trail.now - timedelta(days=4)).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    trail.check({"since": day.isoformat()}, lambda e: when(e) >= midnight)
    trail.check({"until": day.isoformat()}, lambda e: when(e) < midnight)

    trail.check({"since": "36h"}, lambda e: when(e) >= trail.now - 36 * HOUR)
    trail.check({"until": "2d"}, lambda e: when(e) < trail.now - 48 * HOUR)


@pytest.mark.parametrize(("span", "back"), [("24h", timedelta(hours=24)),
                                            ("3d", timedelta(days=3)),
                                            ("7d", timedelta(days=7)),
                                            ("1w", timedelta(weeks=1)),
                                            ("600m", timedelta(minutes=600))])
def test_last_is_a_span_back_from_now(trail: Trail, span: str, back: timedelta) -> None:
    trail.check({"last": span}, lambda e: when(e) >= trail.now - back)


# -- one field at a time ------------------------------------------------------------------


@pytest.mark.parametrize("category", ["device", "client", "access", "admin", "system", "task"])
def test_category(trail: Trail, category: str) -> None:
    trail.check({"category": category}, lambda e: e["category"] == category)


@pytest.mark.parametrize("action", ["miner.reboot", "miner.pool.change", "client.bill.update",
                                    "user.login", "minerals.tally"])
def test_action_exact(trail: Trail, action: str) -> None:
    trail.check({"action": action}, lambda e: e["action"] == action)


@pytest.mark.parametrize(("pattern", "prefix"), [("miner.*", "miner."), ("miner*", "miner."),
                                                 ("client.*", "client."),
                                                 ("client.bill.*", "client.bill."),
                                                 ("miner.pool.*", "miner.pool.")])
def test_action_prefix(trail: Trail, pattern: str, prefix: str) -> None:
    got = trail.check({"action": pattern}, lambda e: e["action"].startswith(prefix))
    if prefix == "miner.":
        audits = {e["id"] for e in trail.events if e["action"] == "minerals.tally"}
        assert audits and not audits & set(got)


def test_action_prefix_does_not_match_the_bare_prefix(trail: Trail) -> None:
    trail.check({"action": "miner.reboot.*"}, lambda e: False, at_least=0)


@pytest.mark.parametrize("kind", ["execute", "update", "create", "login", "logout", "export",
                                  "permission", "other", "read"])
def test_action_type(trail: Trail, kind: str) -> None:
    trail.check({"action_type": kind}, lambda e: action_type(e) == kind)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_severity(trail: Trail, severity: str) -> None:
    trail.check({"severity": severity}, lambda e: e.get("severity", "info") == severity)


@pytest.mark.parametrize("result", ["success", "failure"])
def test_result(trail: Trail, result: str) -> None:
    trail.check({"result": result}, lambda e: e.get("result", "success") == result)


@pytest.mark.parametrize("query", ["alice", "ali", "smi", "ALICE", "bob sto", "exam",
                                   "example org", "mining", "billing", "rebooter auto",
                                   "key", "u-carol", "svc"])
def test_actor_partial_words(trail: Trail, query: str) -> None:
    trail.check({"actor": query}, lambda e: matches_actor(e, query))


@pytest.mark.parametrize("actor_id", ["u-alice", "key-7", "svc-billing"])
def test_actor_id(trail: Trail, actor_id: str) -> None:
    trail.check({"actor_id": actor_id}, lambda e: e["actor"]["id"] == actor_id)


def test_actor_id_is_exact(trail: Trail) -> None:
    trail.check({"actor_id": "u-ali"}, lambda e: False, at_least=0)
    trail.check({"actor_id": "U-ALICE"}, lambda e: False, at_least=0)


@pytest.mark.parametrize("email", ["alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM",
                                   "bob.stone@example.org", "Bob.Stone@Example.ORG",
                                   " ops@example.com "])
def test_actor_email_ignores_case(trail: Trail, email: str) -> None:
    want = email.strip().lower()
    trail.check({"actor_email": email},
                lambda e: (e["actor"].get("email") or "").lower() == want)


def test_actor_email_is_not_partial(trail: Trail) -> None:
    trail.check({"actor_email": "example.com"}, lambda e: False, at_least=0)


@pytest.mark.parametrize("kind", ["user", "system", "api_key", "automation"])
def test_actor_type(trail: Trail, kind: str) -> None:
    trail.check({"actor_type": kind}, lambda e: e["actor"].get("type", "user") == kind)


@pytest.mark.parametrize("query", ["rig-3", "rig-17", "pool-eu", "bill-9", "dmitri", "rack b4",
                                   "rack", "eu po", "CLIENT", "prod"])
def test_target_id_or_name_words(trail: Trail, query: str) -> None:
    trail.check({"target": query}, lambda e: matches_target(e, query))


@pytest.mark.parametrize("target_id", ["rig-3", "pool-eu", "bill-9", "cl-200"])
def test_target_id(trail: Trail, target_id: str) -> None:
    trail.check({"target_id": target_id},
                lambda e: any(t["id"] == target_id for t in e.get("targets", [])))


def test_target_id_is_exact(trail: Trail) -> None:
    trail.check({"target_id": "rig"}, lambda e: False, at_least=0)


@pytest.mark.parametrize("name", ["Rack B4 miner 3", "rack b4", "Client Olga Petrova",
                                  "EU Pool Main", "olga", "Production cluster"])
def test_target_name(trail: Trail, name: str) -> None:
    trail.check({"target_name": name}, lambda e: matches_target_name(e, name))


def test_target_name_words_must_be_in_order(trail: Trail) -> None:
    trail.check({"target_name": "b4 rack"}, lambda e: False, at_least=0)


def test_target_name_does_not_span_two_targets(trail: Trail) -> None:
    # Event targets "Rack C1 miner 17" and "EU Pool Main": no target is named "17 EU".
    trail.check({"target_name": "17 eu"}, lambda e: matches_target_name(e, "17 eu"),
                at_least=0)


@pytest.mark.parametrize("kind", ["miner", "pool", "client", "bill", "cluster"])
def test_target_type(trail: Trail, kind: str) -> None:
    trail.check({"target_type": kind},
                lambda e: any(t["type"] == kind for t in e.get("targets", [])))


@pytest.mark.parametrize("scope", ["finance", "bonuses", "facility-b", "facility-a"])
def test_scope(trail: Trail, scope: str) -> None:
    trail.check({"scope": scope}, lambda e: e.get("scope") == scope)


@pytest.mark.parametrize("ip", ["10.1.2.5", "172.32.0.1", "2001:db8:1:2::5",
                                "2001:DB8:1:2::FF", "2001:0db8:1:3:0:0:0:a"])
def test_ip_exact(trail: Trail, ip: str) -> None:
    address = ipaddress.ip_address(ip)
    trail.check({"ip": ip}, lambda e: ip_of(e) == address)


@pytest.mark.parametrize("network", ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
                                     "172.16.0.0/12", "10.1.2.0/25", "10.1.2.64/26",
                                     "0.0.0.0/4", "2001:db8:1::/48", "2001:db8:1:2::/64",
                                     "2001:db8::/32", "2001:db8::/40", "fe80::/56",
                                     "2001:db8:1:2::/120"])
def test_ip_network(trail: Trail, network: str) -> None:
    trail.check({"ip": network}, lambda e: in_network(e, network))


@pytest.mark.parametrize("network", ["2001:db8:1:2::/80", "2001:db8:1:2::/96",
                                     "2001:db8:1:2::/112"])
def test_ipv6_network_narrower_than_64_is_searchable(trail: Trail, network: str) -> None:
    trail.check({"ip": network}, lambda e: in_network(e, network))


def test_ip_network_with_host_bits_is_taken_as_its_network(trail: Trail) -> None:
    trail.check({"ip": "10.1.2.99/24"}, lambda e: in_network(e, "10.1.2.0/24"))


@pytest.mark.parametrize("request_id", ["req-0", "req-5", "req-19"])
def test_request_id(trail: Trail, request_id: str) -> None:
    trail.check({"request_id": request_id}, lambda e: e.get("request_id") == request_id)


@pytest.mark.parametrize("session_id", ["sess-0", "sess-3"])
def test_session_id(trail: Trail, session_id: str) -> None:
    trail.check({"session_id": session_id}, lambda e: e.get("session_id") == session_id)


@pytest.mark.parametrize("query", [
    "reboot", "rebooted", "pool", "pool change", "monthly", "monthly bill", "rack b4",
    "timeout", "insufficient funds", "finance", "facility", "url", "zurich", "Zürich",
    "bitmain", "alice", "dmitri", "miners", "xlsx", "MONTHLY REPORT",
])
def test_q_words(trail: Trail, query: str) -> None:
    trail.check({"q": query}, lambda e: matches_q(e, query))


@pytest.mark.parametrize("query", [
    '"pool change"', '"rack b4"', '"monthly report"', '"monthly bill"', '"insufficient funds"',
    '"miner 3"', '"alice smith"', '"the monthly"', '"pool change" operator',
    'miners "rack b4"', '"pool url"',
])
def test_q_phrases(trail: Trail, query: str) -> None:
    trail.check({"q": query}, lambda e: matches_q(e, query))


def test_q_phrase_words_must_be_adjacent(trail: Trail) -> None:
    # Both words appear in "Updated the monthly bill", not as the phrase "updated bill".
    assert trail.ids(lambda e: matches_q(e, "updated bill"))
    trail.check({"q": '"updated bill"'}, lambda e: False, at_least=0)


def test_q_phrase_does_not_span_two_fields(trail: Trail) -> None:
    # action "user.logout" + description "Signed out": no field holds "logout signed".
    trail.check({"q": '"logout signed"'}, lambda e: matches_q(e, '"logout signed"'),
                at_least=0)


def test_q_does_not_find_what_is_not_there(trail: Trail) -> None:
    trail.check({"q": "nonexistentword"}, lambda e: False, at_least=0)
    trail.check({"q": "reboot nonexistentword"}, lambda e: False, at_least=0)


# -- combinations ---------------------------------------------------------------------------


def test_fields_combine_with_and(trail: Trail) -> None:
    trail.check({"action": "miner.*", "result": "failure"},
                lambda e: e["action"].startswith("miner.") and e.get("result") == "failure")
    trail.check({"category": "client", "actor_type": "system"},
                lambda e: e["category"] == "client" and e["actor"]["type"] == "system")
    trail.check({"category": "device", "action": "miner.reboot"},
                lambda e: e["category"] == "device" and e["action"] == "miner.reboot")
    trail.check({"q": "monthly", "ip": "10.0.0.0/8", "last": "7d"},
                lambda e: matches_q(e, "monthly") and in_network(e, "10.0.0.0/8")
                and when(e) >= trail.now - timedelta(days=7))
    trail.check({"actor": "alice", "since": "3d"},
                lambda e: matches_actor(e, "alice") and when(e) >= trail.now - timedelta(days=3))
    trail.check({"target": "rack", "severity": "critical"},
                lambda e: matches_target(e, "rack") and e.get("severity") == "critical")


def test_all_fields_at_once_narrow_to_one_event(trail: Trail) -> None:
    one = next(e for e in trail.events
               if e.get("scope") and e.get("targets") and (e.get("source") or {}).get("ip")
               and e.get("session_id") and e["actor"].get("email"))
    params = {
        "since": _iso(when(one) - HOUR), "until": _iso(when(one) + HOUR),
        "category": one["category"], "action": one["action"], "action_type": action_type(one),
        "severity": one["severity"], "result": one.get("result", "success"),
        "actor": one["actor"]["id"], "actor_id": one["actor"]["id"],
        "actor_email": one["actor"]["email"].upper(), "actor_type": one["actor"]["type"],
        "target": one["targets"][0]["id"], "target_id": one["targets"][0]["id"],
        "target_type": one["targets"][0]["type"], "scope": one["scope"],
        "ip": one["source"]["ip"], "request_id": one["request_id"],
        "session_id": one["session_id"], "q": one["description"].split()[0],
    }
    assert [e["id"] for e in trail.search(params)] == [one["id"]]


@pytest.mark.parametrize("form", ["repeated", "comma"])
def test_values_of_one_field_combine_with_or(trail: Trail, form: str) -> None:
    def multi(name: str, *values: str) -> list[tuple[str, str]]:
        if form == "comma":
            return [(name, ",".join(values))]
        return [(name, v) for v in values]

    trail.check(multi("category", "device", "client"),
                lambda e: e["category"] in ("device", "client"))
    trail.check(multi("action", "miner.*", "client.bill.update"),
                lambda e: e["action"].startswith("miner.") or e["action"] == "client.bill.update")
    trail.check(multi("action", "user.login", "user.logout"),
                lambda e: e["action"] in ("user.login", "user.logout"))
    trail.check(multi("severity", "warning", "critical"),
                lambda e: e.get("severity") in ("warning", "critical"))
    # Free-form values (ids, names, emails) are never split on commas: repeat them.
    trail.check([("actor_id", "u-alice"), ("actor_id", "u-bob")],
                lambda e: e["actor"]["id"] in ("u-alice", "u-bob"))
    trail.check([("actor_id", "u-alice,u-bob")], lambda e: False, at_least=0)
    trail.check(multi("actor_email", "ALICE.SMITH@example.com", "ops@example.com"),
                lambda e: (e["actor"].get("email") or "").lower()
                in ("alice.smith@example.com", "ops@example.com"))
    trail.check(multi("ip", "10.1.2.0/24", "192.168.1.0/24", "2001:db8:2::1"),
                lambda e: in_network(e, "10.1.2.0/24") or in_network(e, "192.168.1.0/24")
                or in_network(e, "2001:db8:2::1/128"))
    trail.check(multi("scope", "finance", "bonuses"),
                lambda e: e.get("scope") in ("finance", "bonuses"))
    trail.check([("target_id", "rig-3"), ("target_id", "cl-100")],
                lambda e: any(t["id"] in ("rig-3", "cl-100") for t in e.get("targets", [])))
    trail.check([("request_id", "req-1"), ("request_id", "req-7")],
                lambda e: e.get("request_id") in ("req-1", "req-7"))
    trail.check(multi("action_type", "login", "logout"),
                lambda e: action_type(e) in ("login", "logout"))
    # OR inside fields, AND across them.
    trail.check([*multi("category", "device", "client"), *multi("result", "failure")],
                lambda e: e["category"] in ("device", "client") and e.get("result") == "failure")


# -- pages ------------------------------------------------------------------------------------


def walk(trail: Trail, params: dict[str, str], limit: int = 7) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": str(limit)}
        if cursor is not None:
            query["cursor"] = cursor
        answer = trail.http.get(EVENTS, params=query)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["events"]) <= limit
        seen.extend(e["id"] for e in page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        assert len(page["events"]) == limit
    raise AssertionError("the cursor never ran out")


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({}, lambda e: True),
        ({"since": "6d", "until": "1d"},
         lambda e: datetime.now(UTC) - timedelta(days=6) <= when(e)
         < datetime.now(UTC) - timedelta(days=1)),
        ({"category": "device"}, lambda e: e["category"] == "device"),
        ({"action": "miner.*,client.*"},
         lambda e: e["action"].startswith(("miner.", "client."))),
        ({"q": "the", "last": "7d"},
         lambda e: matches_q(e, "the") and when(e) >= datetime.now(UTC) - timedelta(days=7)),
        ({"ip": "10.0.0.0/8,2001:db8::/32"},
         lambda e: in_network(e, "10.0.0.0/8") or in_network(e, "2001:db8::/32")),
    ],
    ids=["everything", "time-window", "category", "action-prefixes", "text", "networks"],
)
def test_pages_of_seven_walk_every_match_once_in_order(
    trail: Trail, params: dict[str, str], keep: Callable[[Event], bool]
) -> None:
    expected = trail.ids(keep)
    assert len(expected) > 14, "need at least three pages"

    seen = walk(trail, params)

    assert len(seen) == len(set(seen))
    assert seen == expected


def test_a_page_size_that_divides_the_result_ends_with_an_empty_page(trail: Trail) -> None:
    expected = trail.ids(lambda e: True)
    seen = walk(trail, {}, limit=len(expected))
    assert seen == expected


def test_default_page_is_fifty(trail: Trail) -> None:
    answer = trail.http.get(EVENTS)
    page = answer.json()
    assert len(page["events"]) == 50
    assert page["next_cursor"] is not None
    rest = trail.http.get(EVENTS, params={"cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["events"] + rest["events"]] == trail.ids(lambda e: True)
    assert rest["next_cursor"] is None


# -- errors -----------------------------------------------------------------------------------


def error_of(trail: Trail, params: Params, status: int, field: str) -> dict[str, Any]:
    answer = trail.http.get(EVENTS, params=params)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == ("malformed_request" if status == 400 else "validation_failed")
    assert field in [d["field"] for d in error["details"]], error
    for detail in error["details"]:
        assert set(detail) == {"field", "reason"} and detail["reason"]
    return dict(error)


@pytest.mark.parametrize("name", ["actor_name", "sort", "offset", "Action", "tenant"])
def test_unknown_parameter_is_named(trail: Trail, name: str) -> None:
    error = error_of(trail, {name: "x"}, 422, name)
    assert [d["field"] for d in error["details"]] == [name]


@pytest.mark.parametrize("cursor", ["nonsense", "c1", "c1AAAAAAAAAAAAAA", "c1!!!!!!!!!!!",
                                    "x1AAAAAAAAAAA"])
def test_bad_cursor_is_400(trail: Trail, cursor: str) -> None:
    error_of(trail, {"cursor": cursor}, 400, "cursor")


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
def test_limit_out_of_range_is_422(trail: Trail, limit: str) -> None:
    error_of(trail, {"limit": limit}, 422, "limit")


def test_limit_of_500_is_allowed(trail: Trail) -> None:
    assert len(trail.search({"limit": 500})) == COUNT + 1


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-13-01"}, "since"),
    ({"since": "2026-01-01T00:00:00"}, "since"),
    ({"until": "soon"}, "until"),
    ({"last": "forever"}, "last"),
    ({"last": "2026-01-01"}, "last"),
    ({"last": "24h", "since": "2d"}, "last"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
    ({"since": "2026-01-01", "until": "2026-01-01"}, "until"),
    ({"ip": "nonsense"}, "ip"),
    ({"ip": "10.0.0.300"}, "ip"),
    ({"ip": "10.0.0.0/33"}, "ip"),
    ({"ip": "2001:db8::/16"}, "ip"),
    ({"ip": "::/0"}, "ip"),
    ({"ip": "10.0.0.0/8,nonsense"}, "ip"),
    ({"severity": "fatal"}, "severity"),
    ({"result": "ok"}, "result"),
    ({"action_type": "reboot"}, "action_type"),
    ({"actor_type": "robot"}, "actor_type"),
    ({"action": "*"}, "action"),
])
def test_bad_filter_value_names_the_parameter(trail: Trail, params: dict[str, str],
                                              field: str) -> None:
    error_of(trail, params, 422, field)



@pytest.mark.parametrize("params", [{"since": "9999-12-31"}, {"until": "9999-12-31"},
                                    {"until": "2300-01-01T00:00:00Z"}])
def test_a_far_future_time_bound_is_not_a_server_error(trail: Trail,
                                                       params: dict[str, str]) -> None:
    http = TestClient(trail.http.app, raise_server_exceptions=False)
    answer = http.get(EVENTS, params=params, headers=dict(trail.http.headers))

    # Either an empty/complete answer or a 422 naming the parameter; never a 500.
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["error"]["details"][0]["field"] in params
    elif "since" in params:
        assert answer.json()["events"] == []
    else:
        assert len(answer.json()["events"]) == min(50, len(trail.events))
