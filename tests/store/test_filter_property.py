"""Property: for random events and random filters (negations included), what the
store answers equals a plain-Python evaluation of the same filter over the same
events (``trailbook.query.evaluate``), in the same order, on SQLite and PostgreSQL;
and the total and the histogram count the same events. Some events carry tags
(annotations), which the evaluation is given."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import msgspec
import orjson
import pytest
import uuid_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us, parse_rfc3339
from trailbook.query.evaluate import matches
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.records import Annotation, Tenant

T0 = parse_rfc3339("2026-06-01T00:00:00Z")
MINUTE = 60_000_000

ACTIONS = ["miner.reboot", "miner.pool.change", "client.bill.update", "user.login",
           "minerals.tally", "cluster.scale"]
CATEGORIES = ["device", "client", "access", "task"]
ACTORS = [("u-1", "Olga Petrova", "olga@farm.example", "user"),
          ("u-2", "Ömer Çelik", None, "user"),
          ("svc", "Billing Service", None, "system"),
          ("bot-7", None, "Bot@Example.org", "automation")]
TARGETS = [("m-1", "Rack B4 slot 1", "miner"), ("m-2", "rack b4 slot 2", "miner"),
           ("c-9", "Acme Hosting", "client"), ("cl-3", None, "cluster")]
WORDS = ["pool", "change", "reboot", "rack", "failed", "café", "invoice", "b4", "slot"]
IPS = ["10.1.2.3", "10.1.9.9", "10.2.0.1", "192.0.2.7", "2001:db8::5", "2001:db8:1::9"]
TAGS = ["vip", "incident", "reviewed"]
NETWORKS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.8.0/21", "10.1.2.3/32", "192.0.2.0/24",
            "2001:db8::/32", "2001:db8::4/126", "2001:db8::/48"]


def make_events(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        actor = rng.choice(ACTORS)
        event: dict[str, Any] = {
            "action": rng.choice(ACTIONS), "category": rng.choice(CATEGORIES),
            "actor": {"id": actor[0], "name": actor[1], "email": actor[2], "type": actor[3]},
            "occurred_at": format_us(T0 + rng.randrange(0, 120) * MINUTE + i),
            "severity": rng.choice(["info", "notice", "critical"]),
            "description": " ".join(rng.sample(WORDS, rng.randrange(0, 4))) or None,
        }
        if rng.random() < 0.3:
            event["result"], event["reason"] = "failure", rng.choice(["pool down", "timeout"])
        if rng.random() < 0.8:
            event["targets"] = [{"id": t[0], "name": t[1], "type": t[2]}
                                for t in rng.sample(TARGETS, rng.randrange(1, 3))]
        if rng.random() < 0.7:
            event["source"] = {"ip": rng.choice(IPS)}
        if rng.random() < 0.5:
            event["scope"] = rng.choice(["finance", "farm-east"])
        if rng.random() < 0.4:
            event["request_id"] = rng.choice(["r-1", "r-2"])
            event["session_id"] = rng.choice(["s-1", "s-2"])
        if rng.random() < 0.3:
            event["metadata"] = {"note": rng.choice(WORDS), "n": rng.randrange(5)}
        events.append(event)
    return events


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stored(tb: Trailbook, tenant: Tenant) -> list[tuple[dict[str, Any], frozenset[str]]]:
    """The events, newest first, each with its tags."""
    raw = make_events(90, seed=5)
    for start in range(0, len(raw), 30):
        tb.events.ingest(tenant, msgspec.convert(raw[start:start + 30], list[EventIn]))
    found = tb.events.search(tenant, EventFilter(), None, 500).events
    assert len(found) == 90
    rng = random.Random(7)
    out = []
    for event in found:
        doc = orjson.loads(event.doc)
        tags = frozenset(rng.sample(TAGS, rng.choice([0, 0, 1, 2])))
        for tag in sorted(tags):
            tb.store.annotations.add(Annotation(
                str(uuid_utils.uuid7()), tenant.id, event.pos, doc["id"], "tag", tag, 1,
                "ana@acme.example", "Ana", "2026-06-01T00:00:00.000000Z"))
        out.append((doc, tags))
    return out


def one_of(values: list[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True).map(tuple)


FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "categories": one_of(CATEGORIES),
    "actions": one_of(ACTIONS),
    "action_prefixes": one_of(["miner", "miner.pool", "client", "user"]),
    "action_types": one_of(["update", "execute", "login", "other"]),
    "severities": one_of(["info", "notice", "critical"]),
    "results": one_of(["success", "failure"]),
    "actor": st.sampled_from(["olg", "olga petr", "omer", "billing", "example", "bot"]),
    "actor_ids": one_of([a[0] for a in ACTORS]),
    "actor_emails": one_of(["olga@farm.example", "bot@EXAMPLE.org"]),
    "actor_types": one_of(["user", "system", "automation"]),
    "target": st.sampled_from(["m-1", "rack", "acme host", "slot 2", "cl-3"]),
    "target_ids": one_of([t[0] for t in TARGETS]),
    "target_names": one_of(["rack b4", "b4 slot 2", "Acme Hosting", "slot rack"]),
    "target_types": one_of(["miner", "client", "cluster"]),
    "scopes": one_of(["finance", "farm-east"]),
    "ips": one_of(NETWORKS).map(lambda ns: tuple(ipaddress.ip_network(n) for n in ns)),
    "request_ids": one_of(["r-1", "r-2"]),
    "session_ids": one_of(["s-1", "s-2"]),
    "tags": one_of(TAGS),
    "text": st.sampled_from(["pool", "rack b4", '"rack b4"', '"pool change"', "cafe",
                             "timeout", "invoice", '"slot 2"', "miner", "farm"]),
}


@st.composite
def filters(draw: st.DrawFn) -> EventFilter:
    chosen = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=3, unique=True))
    values: dict[str, Any] = {name: draw(FIELDS[name]) for name in chosen}
    if draw(st.booleans()):
        start = T0 + draw(st.integers(0, 100)) * MINUTE
        values["since_us"] = start
        if draw(st.booleans()):
            values["until_us"] = start + draw(st.integers(1, 60)) * MINUTE
    excluded = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=2, unique=True))
    if excluded:
        values["exclude"] = EventFilter(**{n: draw(FIELDS[n]) for n in excluded})
    return EventFilter(**values)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flt=filters())
def test_store_answers_what_the_filter_means(
    tb: Trailbook, tenant: Tenant, stored: list[tuple[dict[str, Any], frozenset[str]]],
    flt: EventFilter,
) -> None:
    expected = [d["seq"] for d, tags in stored if matches(flt, d, tags)]
    answered = [orjson.loads(e.doc)["seq"]
                for e in tb.events.search(tenant, flt, None, 500).events]
    assert answered == expected, flt.describe()
    total = tb.facets.total(tenant, flt, 10_000)
    assert (total.count, total.exact) == (len(expected), True), flt.describe()
    histogram = tb.facets.histogram(tenant, flt, 10_000)
    assert histogram is not None
    assert sum(n for _, n in histogram.buckets) == len(expected), flt.describe()
