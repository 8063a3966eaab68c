"""The alert rule engine: thresholds within a window per group, quiet periods with one
summary, rule validation, and states that survive a restart."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from trailbook.errors import ValidationFailed
from trailbook.model.timefmt import format_us, parse_rfc3339
from trailbook.notify.engine import GROUP_FIELDS, Firing, RuleEngine, check_rule
from trailbook.notify.grouping import as_key, group_key
from trailbook.notify.records import Rule, RuleState
from trailbook.query.evaluate import matches
from trailbook.query.filters import EventFilter

T0 = parse_rfc3339("2026-11-23T12:00:00Z")
SECOND = 1_000_000
MINUTE = 60 * SECOND
_ids = iter(range(1, 10**9))


def event(at_us: int, *, action: str = "user.login", result: str = "failure",
          ip: str | None = "203.0.113.7", category: str = "access",
          metadata: dict[str, Any] | None = None, actor: str = "u-1") -> dict[str, Any]:
    """A stored event document, as the store hands it to the evaluator."""
    n = next(_ids)
    return {
        "id": f"ev-{n:06d}", "tenant": "acme", "seq": n,
        "occurred_at": format_us(at_us), "received_at": format_us(at_us),
        "category": category, "action": action, "action_type": "login",
        "severity": "notice" if result == "failure" else "info",
        "actor": {"id": actor, "name": "Alice Smith", "email": "alice@example.com",
                  "type": "user"},
        "targets": [{"id": "acct-1", "name": "Alice's account", "type": "account"}],
        "scope": None, "result": result, "reason": None,
        "source": {"ip": ip, "user_agent": "curl/8", "country": "DE"} if ip else None,
        "request_id": None, "session_id": None, "description": None, "changes": [],
        "metadata": metadata or {}, "idempotency_key": None,
    }


def rule(rule_id: int = 1, query: str = "action:user.login result:failure", *,
         threshold: int = 5, window_seconds: int = 600, group_by: str | None = "source.ip",
         quiet_seconds: int = 300, enabled: bool = True) -> Rule:
    return Rule(rule_id, 1, f"rule {rule_id}", query, threshold, window_seconds, group_by,
                quiet_seconds, (1,), enabled, "2026-11-01T00:00:00.000000Z",
                "2026-11-01T00:00:00.000000Z")


def feed(engine: RuleEngine, docs: Iterable[dict[str, Any]],
         tags: frozenset[str] = frozenset()) -> list[Firing]:
    """Observe each event at the server time it occurred."""
    out: list[Firing] = []
    for doc in docs:
        out += engine.observe(doc, tags, parse_rfc3339(doc["occurred_at"]))
    return out


BRUTE_FORCE = rule()


# ---------------------------------------------------------------- the cases


def test_five_failed_logins_from_one_ip_in_ten_minutes_raise_one_alert() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    docs = [event(T0 + i * 2 * MINUTE) for i in range(5)]  # 8 minutes
    firings = feed(engine, docs)
    assert len(firings) == 1
    alert = firings[0]
    assert (alert.kind, alert.rule, alert.group_key, alert.count) == (
        "alert", BRUTE_FORCE, "203.0.113.7", 5)
    assert alert.event_ids == tuple(d["id"] for d in docs)
    assert alert.docs == tuple(docs)
    assert (alert.first_us, alert.last_us) == (T0, T0 + 8 * MINUTE)


def test_four_failed_logins_raise_none() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    assert feed(engine, [event(T0 + i * MINUTE) for i in range(4)]) == []
    assert engine.states()[0].window == [T0 + i * MINUTE for i in range(4)]


def test_five_spread_over_more_than_ten_minutes_raise_none() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    docs = [event(T0 + i * 151 * SECOND) for i in range(5)]  # 604 seconds end to end
    assert feed(engine, docs) == []
    # The oldest fell out of the window: four are left.
    assert len(engine.states()[0].window) == 4


def test_five_spanning_exactly_the_window_raise_one_alert() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    firings = feed(engine, [event(T0 + i * 150 * SECOND) for i in range(5)])
    assert [f.kind for f in firings] == ["alert"]


def test_five_from_five_ips_raise_none() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    docs = [event(T0 + i * SECOND, ip=f"203.0.113.{i}") for i in range(5)]
    assert feed(engine, docs) == []
    assert len(engine.states()) == 5


def test_successes_and_other_actions_do_not_count() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    docs = [event(T0 + i * SECOND, result="success") for i in range(5)]
    docs += [event(T0 + i * SECOND, action="user.logout") for i in range(5)]
    assert feed(engine, docs) == []
    assert engine.states() == []


def test_a_storm_raises_one_alert_then_one_summary_after_the_quiet_period() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    docs = [event(T0 + i * 10_000) for i in range(1000)]  # 1,000 in ten seconds
    firings = feed(engine, docs)
    assert [f.kind for f in firings] == ["alert"]
    assert firings[0].count == 5
    end = T0 + 999 * 10_000
    assert engine.tick(end + 60 * SECOND) == []  # still quiet
    [summary] = engine.tick(T0 + 4 * 10_000 + 300 * SECOND)  # the 5th came at T0 + 40 ms
    assert (summary.kind, summary.group_key, summary.count) == ("summary", "203.0.113.7", 995)
    assert summary.event_ids == tuple(d["id"] for d in docs[5:105])  # the first 100
    assert summary.docs == ()
    assert (summary.first_us, summary.last_us) == (T0 + 5 * 10_000, end)
    assert engine.tick(end + 3600 * SECOND) == []
    assert engine.states() == []


def test_the_quiet_period_ends_on_a_match_too_before_any_tick() -> None:
    engine = RuleEngine([rule(threshold=2, quiet_seconds=60)], [])
    feed(engine, [event(T0), event(T0 + SECOND), event(T0 + 2 * SECOND)])
    late = event(T0 + 70 * SECOND)
    firings = feed(engine, [late])
    assert [(f.kind, f.count) for f in firings] == [("summary", 1)]
    assert engine.states()[0].window == [T0 + 70 * SECOND]
    assert engine.tick(T0 + 3600 * SECOND) == []  # the summary is not repeated


# ---------------------------------------------------------------- state round trip


def _stream(seed: int) -> list[tuple[str, Any]]:
    """Events from a few IPs, bursts and lulls, with ticks between them."""
    rng = random.Random(seed)
    out: list[tuple[str, Any]] = []
    now = T0
    for _ in range(600):
        now += rng.choice((SECOND, 5 * SECOND, 40 * SECOND, 3 * MINUTE))
        ip = f"198.51.100.{rng.randrange(4)}"
        result = rng.choice(("failure", "failure", "failure", "success"))
        merchant = rng.choice(("m-1", "m-2", None))
        skew = rng.randrange(0, 30) * SECOND  # events may come a little out of order
        doc = event(now - skew, ip=ip, result=result,
                    metadata={"merchant": merchant} if merchant else {})
        out.append(("event", (doc, now)))
        if rng.random() < 0.2:
            out.append(("tick", now))
    return out


ROUND_TRIP_RULES = [
    BRUTE_FORCE,
    rule(2, "result:failure", threshold=1, window_seconds=0, group_by=None, quiet_seconds=90),
    rule(3, "action:user.login", threshold=3, window_seconds=120,
         group_by="metadata.merchant", quiet_seconds=0),
    rule(4, "action:user.*", threshold=20, window_seconds=900, group_by="result",
         quiet_seconds=600),
]


def _summary_of(firing: Firing) -> tuple[Any, ...]:
    """What an engine restored from states reproduces exactly (alert documents of a
    window that began before the restart are memory only)."""
    ids = firing.event_ids if firing.kind == "summary" else ()
    return (firing.rule.id, firing.group_key, firing.kind, firing.count, firing.first_us,
            firing.last_us, ids)


def _run(engine: RuleEngine, steps: list[tuple[str, Any]]) -> list[Firing]:
    out: list[Firing] = []
    for what, value in steps:
        if what == "tick":
            out += engine.tick(value)
        else:
            doc, now = value
            out += engine.observe(doc, frozenset(), now)
    return out


def _persist(store: dict[tuple[int, str], RuleState], engine: RuleEngine) -> None:
    changed, deleted = engine.take_changes()
    for state in changed:
        store[(state.rule_id, state.group_key)] = state
    for key in deleted:
        del store[key]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_engine_restored_from_its_states_continues_the_same(seed: int) -> None:
    steps = _stream(seed)
    whole_engine = RuleEngine(ROUND_TRIP_RULES, [])
    whole = _run(whole_engine, steps)
    whole_store: dict[tuple[int, str], RuleState] = {}
    _persist(whole_store, whole_engine)
    assert {f.kind for f in whole} == {"alert", "summary"}
    assert {f.rule.id for f in whole} == {1, 2, 3, 4}

    for split in range(0, len(steps) + 1, 37):
        store: dict[tuple[int, str], RuleState] = {}
        first = RuleEngine(ROUND_TRIP_RULES, [])
        got: list[Firing] = []
        for start in range(0, split, 25):  # batches, each persisted as the evaluator does
            got += _run(first, steps[start:min(start + 25, split)])
            _persist(store, first)
        second = RuleEngine(ROUND_TRIP_RULES, list(store.values()))
        got += _run(second, steps[split:])
        _persist(store, second)

        assert [_summary_of(f) for f in got] == [_summary_of(f) for f in whole]
        for mine, theirs in zip(got, whole, strict=True):
            assert set(mine.event_ids) <= set(theirs.event_ids)
            assert mine.kind == "summary" or mine.event_ids  # the trigger at least
        assert store == whole_store
        assert sorted(store.values(), key=lambda s: (s.rule_id, s.group_key)) == \
            second.states()


def test_take_changes_reports_each_change_once_and_returns_copies() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    feed(engine, [event(T0)])
    changed, deleted = engine.take_changes()
    assert [(s.rule_id, s.group_key, s.window) for s in changed] == [(1, "203.0.113.7", [T0])]
    assert deleted == []
    assert engine.take_changes() == ([], [])
    changed[0].window.append(1)  # the engine's own state is untouched
    assert engine.states()[0].window == [T0]
    feed(engine, [event(T0 + i * SECOND) for i in range(1, 5)])  # the alert: window cleared
    changed, deleted = engine.take_changes()
    assert changed[0].quiet_until_us == T0 + 4 * SECOND + 300 * SECOND
    assert changed[0].window == []
    engine.tick(T0 + 3600 * SECOND)
    assert engine.take_changes() == ([], [(1, "203.0.113.7")])


def test_states_never_persisted_are_never_deleted() -> None:
    engine = RuleEngine([rule(threshold=1, window_seconds=0, quiet_seconds=0)], [])
    firings = feed(engine, [event(T0 + i * SECOND) for i in range(3)])
    assert [f.count for f in firings] == [1, 1, 1]  # threshold 1: every match alerts
    assert engine.take_changes() == ([], [])


def test_states_stay_bounded() -> None:
    engine = RuleEngine([rule(threshold=50, window_seconds=60, quiet_seconds=600)], [])
    # One event every two seconds: never 50 within a minute, the window stays at 31.
    feed(engine, [event(T0 + i * 2 * SECOND) for i in range(200)])
    assert len(engine.states()[0].window) == 31
    burst = [event(T0 + 400 * SECOND + i * 1000) for i in range(500)]
    assert [f.kind for f in feed(engine, burst)] == ["alert"]
    [state] = engine.states()
    assert len(state.window) <= 50
    # The 29 of the minute before and 21 of the burst made the alert.
    assert state.suppressed == 500 - 21 and len(state.suppressed_ids) == 100


def test_a_stale_partial_window_is_swept_by_tick() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    feed(engine, [event(T0)])
    engine.take_changes()
    engine.tick(T0 + 30 * MINUTE)  # within window + an hour: kept
    assert engine.take_changes() == ([], [])
    engine.tick(T0 + 2 * 3600 * SECOND)
    assert engine.take_changes() == ([], [(1, "203.0.113.7")])


# ---------------------------------------------------------------- grouping, rules


def test_group_by_a_metadata_key() -> None:
    engine = RuleEngine([rule(query="action:payment.refund", threshold=3,
                              group_by="metadata.merchant")], [])

    def refund(at: int, merchant: Any) -> dict[str, Any]:
        meta = {} if merchant is None else {"merchant": merchant}
        return event(at, action="payment.refund", result="success", metadata=meta)

    docs = [refund(T0, "m-1"), refund(T0 + 1, "m-2"), refund(T0 + 2, None),
            refund(T0 + 3, "m-1"), refund(T0 + 4, None), refund(T0 + 5, 42)]
    assert feed(engine, docs) == []
    assert sorted(s.group_key for s in engine.states()) == ["-", "42", "m-1", "m-2"]
    [alert] = feed(engine, [refund(T0 + 6, "m-1")])
    assert (alert.group_key, alert.count) == ("m-1", 3)
    [alert] = feed(engine, [refund(T0 + 7, "")])  # empty counts as missing
    assert alert.group_key == "-"


def test_group_keys_of_every_field() -> None:
    doc = event(T0, metadata={"code": {"b": 1, "a": [True, None]}})
    doc["scope"] = "north"
    expected = {"actor.id": "u-1", "actor.email": "alice@example.com",
                "actor.name": "Alice Smith", "actor.type": "user", "source.ip": "203.0.113.7",
                "source.country": "DE", "target.type": "account", "target.id": "acct-1",
                "category": "access", "action": "user.login", "result": "failure",
                "scope": "north", "session_id": "-", "request_id": "-"}
    assert set(expected) == set(GROUP_FIELDS)
    assert {f: group_key(f, doc) for f in GROUP_FIELDS} == expected
    assert group_key("metadata.code", doc) == '{"a":[true,null],"b":1}'
    assert group_key("metadata.other", doc) == "-"
    assert group_key(None, doc) == ""
    assert group_key("source.ip", event(T0, ip=None)) == "-"
    assert group_key("target.id", {**doc, "targets": []}) == "-"
    long = as_key("x" * 500)
    assert len(long) == 200 and long != as_key("x" * 501)


def test_a_disabled_rule_never_fires() -> None:
    disabled = replace(BRUTE_FORCE, enabled=False)
    quiet = RuleState(1, "203.0.113.7", [], T0 + SECOND, 3, ["a", "b", "c"], T0, T0)
    engine = RuleEngine([disabled], [quiet])
    assert feed(engine, [event(T0 + i * SECOND) for i in range(20)]) == []
    assert engine.tick(T0 + 3600 * SECOND) == []
    assert engine.states() == [] and engine.take_changes() == ([], [])


def test_the_notifiers_own_events_never_match() -> None:
    everything = rule(query="category:system", threshold=1, window_seconds=0,
                      group_by=None, quiet_seconds=0)
    failures = rule(2, "result:failure", threshold=1, window_seconds=0, group_by=None,
                    quiet_seconds=0)
    engine = RuleEngine([everything, failures], [])
    own = [event(T0, action=a, category="system", result="failure")
           for a in ("alert.delivered", "alert.failed", "alert.dead")]
    assert feed(engine, own) == []
    other = event(T0, action="system.restart", category="system", result="failure")
    assert [f.rule.id for f in feed(engine, [other])] == [1, 2]


def test_tags_are_matched() -> None:
    engine = RuleEngine([rule(query="tag:vip", threshold=1, window_seconds=0,
                              group_by=None, quiet_seconds=0)], [])
    assert feed(engine, [event(T0)]) == []
    assert len(feed(engine, [event(T0)], frozenset({"vip"}))) == 1


def test_events_out_of_order_count_within_the_window() -> None:
    engine = RuleEngine([BRUTE_FORCE], [])
    times = [T0 + 5 * MINUTE, T0, T0 + 9 * MINUTE, T0 + MINUTE, T0 + 20 * MINUTE]
    assert feed(engine, [event(t) for t in times]) == []
    # 20 min drops everything older than 10 min: one left; an old straggler is dropped.
    assert engine.states()[0].window == [T0 + 20 * MINUTE]
    assert feed(engine, [event(T0 + 2 * MINUTE)]) == []
    assert engine.states()[0].window == [T0 + 20 * MINUTE]


def test_events_no_rule_can_reach_cost_no_evaluation() -> None:
    rules = [rule(i, f"action:app{i}.login result:failure") for i in range(1, 11)]
    rules += [rule(i, f"action:app{i}.* result:failure alice") for i in range(11, 21)]
    engine = RuleEngine(rules, [])
    feed(engine, [event(T0 + i, action="report.view") for i in range(1000)])
    assert (engine.stats.events, engine.stats.candidates, engine.stats.evaluated) == (
        1000, 0, 0)
    feed(engine, [event(T0, action="app3.login", result="success")])
    assert (engine.stats.candidates, engine.stats.evaluated) == (1, 0)  # screened out
    feed(engine, [event(T0, action="app3.login")])  # decided by the plain checks alone
    assert (engine.stats.evaluated, engine.stats.matched) == (0, 1)
    feed(engine, [event(T0, action="app13.login.sso")])  # the text needs evaluate
    assert (engine.stats.candidates, engine.stats.evaluated, engine.stats.matched) == (
        3, 1, 2)


MATCHING_QUERIES = [
    "action:user.login", "action:user.* result:failure", "category:access,admin",
    "-category:access", "-action:user.*", "-action:user.login -result:success",
    "severity:notice type:login", "actor.type:user,automation -category:admin",
    "action:user.login alice", "-actor.type:user", "result:failure -severity:notice",
    "target.type:account", "ip:203.0.113.0/24 action:user.*", "-ip:203.0.113.7",
    "category:access -tag:vip", "action:user.* -\"Alice Smith\"", "actor.id:u-2",
]


def test_the_engine_decides_as_evaluate_does() -> None:
    """The engine's shortcuts (the action index, plain checks, skipping the full
    evaluation) accept exactly what ``evaluate.matches`` accepts."""
    rng = random.Random(5)
    rules = [rule(i, q, threshold=1, window_seconds=0, group_by=None, quiet_seconds=0)
             for i, q in enumerate(MATCHING_QUERIES, 1)]
    engine = RuleEngine(rules, [])
    filters = {r.id: check_rule(r.query, 1, 0, None, 0) for r in rules}
    for n in range(600):
        doc = event(T0 + n, action=rng.choice(("user.login", "user.logout", "user",
                                               "users.login", "page.view", "alert.failed")),
                    category=rng.choice(("access", "admin", "general")),
                    result=rng.choice(("success", "failure")),
                    ip=rng.choice(("203.0.113.7", "198.51.100.1", None)),
                    actor=rng.choice(("u-1", "u-2")))
        doc["severity"] = rng.choice(("info", "notice"))
        doc["actor"]["type"] = rng.choice(("user", "automation", "system"))
        tags = frozenset({"vip"}) if rng.random() < 0.3 else frozenset()
        fired = {f.rule.id for f in engine.observe(doc, tags, T0 + n)}
        expected = {i for i, flt in filters.items() if matches(flt, doc, tags)
                    and not doc["action"].startswith("alert.")}
        assert fired == expected, doc
    assert engine.stats.evaluated < engine.stats.candidates


def test_a_stored_rule_that_no_longer_validates_is_skipped() -> None:
    broken = rule(2, "reslt:failure")
    engine = RuleEngine([BRUTE_FORCE, broken], [])
    assert list(engine.skipped) == [2]
    assert "unknown field" in engine.skipped[2]


# ---------------------------------------------------------------- check_rule


def test_check_rule_returns_the_filter() -> None:
    flt = check_rule("action:user.login result:failure", 5, 600, "source.ip", 300)
    assert flt == EventFilter(actions=("user.login",), results=("failure",))
    assert check_rule("result:failure", 1, 0, None, 0).results == ("failure",)
    assert check_rule("x", 10_000, 7 * 86400, "metadata.merchant_id", 7 * 86400).text == "x"


def _fields(**settings: Any) -> dict[str, str]:
    given: dict[str, Any] = {"query": "action:user.login", "threshold": 5,
                             "window_seconds": 600, "group_by": None, "quiet_seconds": 300}
    given.update(settings)
    with pytest.raises(ValidationFailed) as caught:
        check_rule(**given)
    return {d.field: d.reason for d in caught.value.details}


@pytest.mark.parametrize(("settings", "field", "says"), [
    ({"query": "action:miner.* reslt:failure"}, "query", "position 16: unknown field"),
    ({"query": "result:maybe"}, "query", "position 8: result:"),
    ({"query": "   "}, "query", "needs a query"),
    ({"query": "result:failure last:24h"}, "query", "position 16: a rule's query cannot"),
    ({"query": "after:2026-01-01 x"}, "query", "position 1: a rule's query cannot"),
    ({"query": "x before:2026-01-01"}, "query", "cannot bound time"),
    ({"threshold": 0}, "threshold", "between 1 and 10000"),
    ({"threshold": 10_001}, "threshold", "between 1 and 10000"),
    ({"threshold": True}, "threshold", "whole number"),
    ({"window_seconds": 0}, "window_seconds", "above 0 when the threshold"),
    ({"window_seconds": -1}, "window_seconds", "between 0 and 604800"),
    ({"window_seconds": 604_801}, "window_seconds", "between 0 and 604800"),
    ({"quiet_seconds": 604_801}, "quiet_seconds", "between 0 and 604800"),
    ({"quiet_seconds": -5}, "quiet_seconds", "between 0 and 604800"),
    ({"group_by": "source.port"}, "group_by", "not one of actor.id"),
    ({"group_by": ""}, "group_by", "not one of"),
    ({"group_by": "metadata."}, "group_by", "plain identifier"),
    ({"group_by": "metadata.a.b"}, "group_by", "plain identifier"),
    ({"group_by": "metadata.1x"}, "group_by", "plain identifier"),
])
def test_check_rule_names_the_bad_field(settings: dict[str, Any], field: str,
                                        says: str) -> None:
    problems = _fields(**settings)
    assert list(problems) == [field]
    assert says in problems[field]


def test_check_rule_names_every_bad_field() -> None:
    problems = _fields(query="tag:", threshold=0, window_seconds=-1, group_by="nope",
                       quiet_seconds=-1)
    assert list(problems) == ["query", "threshold", "window_seconds", "quiet_seconds",
                              "group_by"]
