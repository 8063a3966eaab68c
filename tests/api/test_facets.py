"""GET /api/v1/facets on both backends: the total, counts by field and the time
histogram agree with counting the posted events in Python, for plain and negated
filters; an estimate is marked; budgets that run out are reported, not raised."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event
from trailbook.model.timefmt import format_us, parse_rfc3339
from trailbook.query.evaluate import matches
from trailbook.query.language import parse_query
from trailbook.service.app import Trailbook
from trailbook.service.facets import BUCKETS, MAX_BUCKETS, choose_bucket
from trailbook.store.records import Tenant

T0 = parse_rfc3339("2026-10-01T00:00:00Z")
HOUR = 3_600_000_000


def make(i: int, rng: random.Random) -> dict[str, Any]:
    event = minimal_event(
        action=rng.choice(["miner.reboot", "miner.pool.change", "user.login"]),
        category=rng.choice(["device", "access"]),
        actor={"id": rng.choice(["u-1", "u-2", "bot"])},
        severity=rng.choice(["info", "critical"]),
        occurred_at=format_us(T0 + rng.randrange(0, 48) * HOUR + i),
    )
    if rng.random() < 0.3:
        event["result"] = "failure"
    if rng.random() < 0.7:
        event["source"] = {"ip": rng.choice(["10.0.0.1", "10.0.0.2", "192.0.2.9"])}
    if rng.random() < 0.6:
        event["targets"] = [{"id": f"t{i}", "type": rng.choice(["miner", "rack"])},
                            {"id": f"t{i}b", "type": "miner"}]
    return event


@pytest.fixture
def docs(client: TestClient, tb: Trailbook, tenant: Tenant) -> list[dict[str, Any]]:
    rng = random.Random(3)
    raw = [make(i, rng) for i in range(120)]
    assert client.post("/api/v1/events", json=raw).status_code == 201
    return [orjson.loads(e.doc) for e in tb.events.search(tenant, parse_query(""), None, 500)
            .events]


def field_of(doc: dict[str, Any], field: str) -> list[Any]:
    if field == "actor":
        return [doc["actor"]["id"]]
    if field == "ip":
        return [(doc.get("source") or {}).get("ip")]
    if field == "target_type":
        return sorted({t["type"] for t in doc["targets"]})
    return [doc[field]]


@pytest.mark.parametrize("query", ["", "action:miner.*", "-result:failure ip:10.0.0.0/8",
                                   "severity:critical -actor.id:bot"])
def test_facets_count_what_the_filter_matches(client: TestClient, docs: list[dict[str, Any]],
                                              query: str) -> None:
    answer = client.get("/api/v1/facets", params={"query": query, "top": 100})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    matched = [d for d in docs if matches(parse_query(query), d)]
    assert body["total"] == {"count": len(matched), "exact": True}
    for field in ("category", "action", "actor", "target_type", "result", "severity", "ip"):
        expected = Counter(v for d in matched for v in field_of(d, field))
        got = {v["value"]: v["count"] for v in body["facets"][field]["values"]}
        assert got == dict(expected), field
        assert body["facets"][field]["timed_out"] is False
        counts = [v["count"] for v in body["facets"][field]["values"]]
        assert counts == sorted(counts, reverse=True)
    histogram = body["histogram"]
    assert histogram["timed_out"] is False
    assert sum(b["count"] for b in histogram["buckets"]) == len(matched)
    assert len(histogram["buckets"]) <= MAX_BUCKETS
    assert histogram["bucket_seconds"] == 3600  # 48 hours of events
    starts = [parse_rfc3339(b["start"]) for b in histogram["buckets"]]
    assert all(b - a == HOUR for a, b in pairwise(starts))


def test_top_and_chosen_fields(client: TestClient, docs: Any) -> None:
    body = client.get("/api/v1/facets", params={"fields": "actor,ip", "top": 2,
                                                "histogram": "false"}).json()
    assert set(body["facets"]) == {"actor", "ip"}
    assert len(body["facets"]["actor"]["values"]) == 2
    assert body["histogram"] is None
    bad = client.get("/api/v1/facets", params={"fields": "colour"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "fields"


def test_histogram_of_a_time_window(client: TestClient, docs: list[dict[str, Any]]) -> None:
    body = client.get("/api/v1/facets", params={
        "query": "after:2026-10-01T06:00:00Z before:2026-10-01T08:00:00Z"}).json()
    histogram = body["histogram"]
    assert histogram["bucket_seconds"] == 300  # two hours: 5-minute buckets, 24 of them
    assert len(histogram["buckets"]) == 24
    assert histogram["from"] == "2026-10-01T06:00:00.000000Z"
    assert sum(b["count"] for b in histogram["buckets"]) == body["total"]["count"]


def test_past_the_cap_the_total_is_an_estimate(tb: Trailbook, tenant: Tenant,
                                               docs: list[dict[str, Any]]) -> None:
    total = tb.facets.total(tenant, parse_query(""), 5000, exact_up_to=30)
    assert total.exact is False
    assert 60 <= total.count <= 240  # 120 events spread evenly over two days
    exact = tb.facets.total(tenant, parse_query(""), 5000)
    assert (exact.count, exact.exact) == (120, True)


def test_bucket_sizes() -> None:
    assert choose_bucket(60 * 1_000_000) == 1_000_000
    assert choose_bucket(24 * HOUR) == 1800 * 1_000_000
    assert choose_bucket(10**18) == BUCKETS[-1]


def test_facets_past_the_sample_are_marked(tb: Trailbook, tenant: Tenant,
                                           docs: list[dict[str, Any]]) -> None:
    [result] = tb.facets.facets(tenant, parse_query(""), ("result",), 10, 5000, sample=20)
    assert result.sampled is True
    assert sum(v.count for v in result.values) == 20  # the newest 20 matches
    newest = Counter(d["result"] for d in docs[:20])
    assert {v.value: v.count for v in result.values} == dict(newest)
    [whole] = tb.facets.facets(tenant, parse_query(""), ("result",), 10, 5000)
    assert whole.sampled is False
