"""Demo events: valid, varied, realistic enough, ordered, deterministic."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from typing import Any

import msgspec
import pytest

from trailbook.model.event import EventIn
from trailbook.model.limits import ACTION_TYPES, DEFAULT_CATEGORIES, SEVERITIES
from trailbook.model.normalize import TenantInfo, normalize_event
from trailbook.model.timefmt import now_us, parse_rfc3339
from trailbook.service.demo import demo_events

END_US = 1_750_000_000_000_000  # 2025-06-15T15:06:40Z
DAY_US = 86_400 * 1_000_000
COUNT = 5_000
TENANT = TenantInfo(1, "demo", frozenset(DEFAULT_CATEGORIES))
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(demo_events(COUNT, seed=7, end_us=END_US))


def test_every_event_is_a_valid_input(events: list[dict[str, Any]]) -> None:
    assert len(events) == COUNT
    for event in events:
        decoded = msgspec.convert(event, EventIn)
        prepared = normalize_event(decoded, TENANT, END_US)
        assert prepared.action == event["action"]
        assert prepared.occurred_us <= END_US


def test_events_survive_a_json_round_trip(events: list[dict[str, Any]]) -> None:
    for event in events[:500]:
        assert json.loads(json.dumps(event)) == event
    decoded = msgspec.json.decode(msgspec.json.encode(events), type=list[EventIn])
    assert len(decoded) == COUNT


def test_no_server_owned_fields_or_idempotency_keys(events: list[dict[str, Any]]) -> None:
    forbidden = {"id", "seq", "tenant", "received_at", "hash", "idempotency_key"}
    assert all(not forbidden & event.keys() for event in events)


def test_many_actions_and_every_default_category(events: list[dict[str, Any]]) -> None:
    actions = {event["action"] for event in events}
    assert len(actions) >= 25
    for expected in (
        "miner.reboot", "miner.pool.change", "client.bill.update", "payment.record",
        "router.sync", "cluster.scale", "config_profile.update", "role.assign", "user.login",
        "user.logout", "withdrawal.approve", "bonus.manual_assign", "player.balance.adjust",
    ):  # fmt: skip
        assert expected in actions
    assert {event["category"] for event in events} == set(DEFAULT_CATEGORIES)
    assert {event["action_type"] for event in events} <= set(ACTION_TYPES)
    assert len({event["action_type"] for event in events}) >= 8


def test_severities_are_mostly_info_with_some_critical(events: list[dict[str, Any]]) -> None:
    severities = Counter(event["severity"] for event in events)
    assert set(severities) == set(SEVERITIES)
    assert severities["info"] > COUNT * 0.6
    assert 0 < severities["critical"] < COUNT * 0.03


def test_failures_have_reasons_and_successes_do_not(events: list[dict[str, Any]]) -> None:
    failures = [event for event in events if event["result"] == "failure"]
    assert 0.03 <= len(failures) / COUNT <= 0.08
    assert all(event.get("reason") for event in failures)
    assert all("reason" not in event for event in events if event["result"] == "success")
    reasons = Counter(event["reason"] for event in failures)
    assert "bad password" in reasons
    assert "account locked" in reasons
    assert len(reasons) >= 10
    assert all(not event["changes"] for event in failures)  # nothing changed


def test_failed_logins_are_user_login_failures(events: list[dict[str, Any]]) -> None:
    logins = [event for event in events if event["action"] == "user.login"]
    failed = [event for event in logins if event["result"] == "failure"]
    assert failed and len(failed) < len(logins) / 2
    assert all(event["category"] == "access" for event in logins)
    assert all(event["action_type"] == "login" for event in logins)


def test_ipv4_and_ipv6_sources(events: list[dict[str, Any]]) -> None:
    versions = Counter(ipaddress.ip_address(event["source"]["ip"]).version for event in events)
    assert versions[4] > COUNT * 0.2
    assert versions[6] > COUNT * 0.1
    assert all(re.fullmatch(r"[A-Z]{2}", event["source"]["country"]) for event in events)
    assert len({event["source"]["user_agent"] for event in events}) >= 10


def test_actors_of_every_type_at_several_domains(events: list[dict[str, Any]]) -> None:
    actors = [event["actor"] for event in events]
    assert {actor["type"] for actor in actors} == {"user", "system", "api_key", "automation"}
    users = {actor["id"]: actor for actor in actors if actor["type"] == "user"}
    assert len(users) >= 24
    assert all(actor["email"] and actor["name"] for actor in users.values())
    domains = {actor["email"].split("@")[1] for actor in users.values()}
    assert len(domains) >= 5


def test_targets_scopes_and_descriptions(events: list[dict[str, Any]]) -> None:
    assert all(event["targets"] and event["scope"] and event["description"] for event in events)
    target_types = {target["type"] for event in events for target in event["targets"]}
    for expected in ("miner", "rack", "client", "invoice", "router", "cluster", "player", "role"):
        assert expected in target_types
    scopes = {event["scope"] for event in events}
    assert {"farm-kz-1", "finance", "billing", "bonuses", "payments"} <= scopes
    assert all(event["request_id"] for event in events)
    assert len({event["request_id"] for event in events}) == COUNT


def test_changes_and_metadata(events: list[dict[str, Any]]) -> None:
    with_changes = [event for event in events if event["changes"]]
    assert len(with_changes) > COUNT * 0.15
    for event in with_changes:
        for change in event["changes"]:
            assert change["field"]
            assert change["old"] != change["new"], event
    assert sum(1 for event in events if event["metadata"]) > COUNT * 0.9
    metadata_values = [v for event in events for v in event["metadata"].values()]
    assert any(isinstance(v, float) for v in metadata_values)
    assert sum(isinstance(v, (int, str)) for v in metadata_values) > 0.8 * len(metadata_values)


def test_values_carry_over_between_changes(events: list[dict[str, Any]]) -> None:
    # A cluster scaled to N nodes is next scaled from N.
    last: dict[str, int] = {}
    checked = 0
    for event in events:
        if event["action"] != "cluster.scale" or event["result"] != "success":
            continue
        cluster = event["targets"][0]["id"]
        change = event["changes"][0]
        if cluster in last:
            assert change["old"] == last[cluster]
            checked += 1
        last[cluster] = change["new"]
    assert checked > 20


def test_sessions_group_a_users_events(events: list[dict[str, Any]]) -> None:
    sessions: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if "session_id" in event:
            sessions.setdefault(event["session_id"], []).append(event)
    assert len(sessions) > 50
    multi = [group for group in sessions.values() if len(group) >= 3]
    assert len(multi) > 50
    for group in sessions.values():
        assert len({event["actor"]["id"] for event in group}) == 1
        assert len({event["source"]["ip"] for event in group}) == 1
        assert group[0]["action"] == "user.login" and group[0]["result"] == "success"
    # Machines have no sessions.
    assert all("session_id" not in event for event in events if event["actor"]["type"] != "user")


def test_occurred_at_is_rfc3339_ascending_and_within_the_span(
    events: list[dict[str, Any]],
) -> None:
    assert all(TIMESTAMP.match(event["occurred_at"]) for event in events)
    times = [parse_rfc3339(event["occurred_at"]) for event in events]
    assert times == sorted(times)
    start = END_US - 30 * DAY_US
    assert start <= times[0] and times[-1] <= END_US
    # Spread over the whole month, not bunched at one end.
    assert times[0] < start + 2 * DAY_US
    assert times[-1] > END_US - 2 * DAY_US


def test_custom_span() -> None:
    got = list(demo_events(800, seed=3, end_us=END_US, span_days=0.5))
    times = [parse_rfc3339(event["occurred_at"]) for event in got]
    assert times == sorted(times)
    assert times[0] >= END_US - DAY_US // 2 and times[-1] <= END_US


def test_default_end_is_now() -> None:
    before = now_us()
    got = list(demo_events(200))
    after = now_us()
    times = [parse_rfc3339(event["occurred_at"]) for event in got]
    assert before - 30 * DAY_US <= times[0]
    assert times[-1] <= after


@pytest.mark.parametrize("count", [0, 1, 2, 17, 1234])
def test_count_is_respected(count: int) -> None:
    assert sum(1 for _ in demo_events(count, end_us=END_US)) == count


def test_deterministic_for_seed_and_end(events: list[dict[str, Any]]) -> None:
    again = list(demo_events(COUNT, seed=7, end_us=END_US))
    assert again == events
    other_seed = list(demo_events(COUNT, seed=8, end_us=END_US))
    assert other_seed != events
    assert [e["occurred_at"] for e in other_seed] != [e["occurred_at"] for e in events]
    other_end = list(demo_events(COUNT, seed=7, end_us=END_US + 3_600_000_000))
    assert other_end[0]["occurred_at"] != events[0]["occurred_at"]


def test_a_prefix_is_independent_of_later_consumption() -> None:
    # Two runs with the same arguments give the same first events, however far each is read.
    first = demo_events(3000, seed=11, end_us=END_US)
    head = [next(first) for _ in range(10)]
    assert head == list(demo_events(3000, seed=11, end_us=END_US))[:10]


def test_events_do_not_share_mutable_parts() -> None:
    got = list(demo_events(300, seed=5, end_us=END_US))
    first_user = next(event for event in got if event["actor"]["type"] == "user")
    name = first_user["actor"]["name"]
    first_user["actor"]["name"] = "changed"
    first_user["source"]["ip"] = "192.0.2.1"
    same_actor = [
        event for event in got[got.index(first_user) + 1 :]
        if event["actor"]["id"] == first_user["actor"]["id"]
    ]  # fmt: skip
    assert same_actor
    assert all(event["actor"]["name"] == name for event in same_actor)
    assert all(event["source"]["ip"] != "192.0.2.1" for event in same_actor)


def test_global_random_state_is_untouched() -> None:
    import random

    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    list(demo_events(500, seed=1, end_us=END_US))
    assert random.random() == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": -1},
        {"count": 5, "span_days": 0},
        {"count": 5, "span_days": -1.0},
        {"count": 5, "span_days": float("nan")},
        {"count": 5, "end_us": 1_000_000, "span_days": 1.0},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        demo_events(**kwargs)
