"""The alerts contract (``store.alerts``), run against SQLite and PostgreSQL alike:
channels and rules with names unique per tenant whatever their case, no call reaching
another tenant's rows, a channel in use kept, the engine's batch (outbox rows, states,
cursor) stored all or nothing, the outbox's due order and retries, and leases that one
holder has at a time."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from trailbook.errors import Conflict, ValidationFailed
from trailbook.notify.records import Channel, Delivery, DeliveryKind, DeliveryState, Rule, RuleState
from trailbook.service.app import Trailbook
from trailbook.store.accounts import DuplicateRow
from trailbook.store.alerts import CHANNEL_DELETED, AlertStore
from trailbook.store.records import Tenant

CREATED = "2026-05-28T10:00:00.000000Z"
LATER = "2026-05-29T08:30:00.000000Z"
T0 = 1_780_000_000_000_000  # 2026-05-28, microseconds
SECOND = 1_000_000
SLACK = {"webhook_url": "https://hooks.slack.example/T000/B000/XXXX"}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def alerts(tb: Trailbook) -> AlertStore:
    return tb.store.alerts


@pytest.fixture
def other(tb: Trailbook) -> Tenant:
    return tb.tenants.create("globex")


def channel(alerts: AlertStore, tenant: Tenant, name: str = "Ops Slack") -> Channel:
    return alerts.add_channel(tenant.id, name, "slack", SLACK, CREATED)


def rule(alerts: AlertStore, tenant: Tenant, name: str = "Failed logins",
         channels: tuple[int, ...] = (), **kw: Any) -> Rule:
    fields: dict[str, Any] = {
        "query": "action:user.login result:failure", "threshold": 5, "window_seconds": 600,
        "group_by": "source.ip", "quiet_seconds": 300, "channels": channels,
        "enabled": True, "now": CREATED}
    fields.update(kw)
    return alerts.add_rule(tenant.id, name, **fields)


def delivery(tenant: Tenant, n: int, channel_id: int, rule_id: int | None = None,
             state: DeliveryState = "pending", next_attempt_us: int = T0,
             kind: DeliveryKind = "alert") -> Delivery:
    return Delivery(f"dlv-{n:04d}", tenant.id, rule_id, channel_id, kind,
                    {"title": f"alert {n}", "text": "5 failed logins — from 203.0.113.9",
                     "event_ids": ["e1", "e2"]},
                    state, 0, next_attempt_us, None, CREATED, None)


# -- channels -----------------------------------------------------------------------


def test_a_channel_reads_back_whole_and_changes(alerts: AlertStore, tenant: Tenant) -> None:
    config = {"host": "smtp.example", "port": 587, "security": "starttls",
              "from": "trail@example", "to": ["ops@example", "Zoë <zoe@example>"],
              "password": "s3cret"}
    made = alerts.add_channel(tenant.id, "Ops mail", "email", config, CREATED)
    assert made == Channel(made.id, tenant.id, "Ops mail", "email", config, CREATED, CREATED)
    assert alerts.get_channel(tenant.id, made.id) == made
    assert alerts.channel(made.id) == made
    assert alerts.channel_by_name(tenant.id, "OPS MAIL") == made
    assert alerts.channels(tenant.id) == [made]

    changed = alerts.update_channel(tenant.id, made.id, "Ops e-mail", {**config, "port": 465},
                                    LATER)
    assert changed == Channel(made.id, tenant.id, "Ops e-mail", "email",
                              {**config, "port": 465}, CREATED, LATER)
    assert alerts.get_channel(tenant.id, made.id) == changed
    assert alerts.channel_by_name(tenant.id, "Ops mail") is None
    assert alerts.update_channel(tenant.id, made.id + 100, "x", {}, LATER) is None

    assert alerts.delete_channel(tenant.id, made.id)
    assert alerts.get_channel(tenant.id, made.id) is None
    assert not alerts.delete_channel(tenant.id, made.id)


def test_channels_are_listed_by_name_ignoring_case(alerts: AlertStore, tenant: Tenant) -> None:
    for name in ("beta", "Alpha", "alpha 2", "Gamma"):
        channel(alerts, tenant, name)
    assert [c.name for c in alerts.channels(tenant.id)] == ["Alpha", "alpha 2", "beta", "Gamma"]


def test_a_channel_name_is_unique_per_tenant_whatever_its_case(
        alerts: AlertStore, tenant: Tenant, other: Tenant) -> None:
    first = channel(alerts, tenant, "Ops Slack")
    second = channel(alerts, tenant, "Security")
    for taken in ("ops slack", "OPS SLACK", "Ops Slack"):
        with pytest.raises(Conflict) as refused:
            alerts.add_channel(tenant.id, taken, "webhook", {}, CREATED)
        assert refused.value.details[0].field == "name"
    with pytest.raises(Conflict) as refused:
        alerts.update_channel(tenant.id, second.id, "OPS slack", SLACK, LATER)
    assert refused.value.details[0].field == "name"
    # Renaming to its own name in another case is fine; another tenant may use it.
    assert alerts.update_channel(tenant.id, first.id, "OPS SLACK", SLACK, LATER) is not None
    assert channel(alerts, other, "Ops Slack").tenant_id == other.id


def test_a_channel_in_use_is_not_deleted(alerts: AlertStore, tenant: Tenant) -> None:
    slack = channel(alerts, tenant)
    mail = alerts.add_channel(tenant.id, "Mail", "email", {"to": ["a@example"]}, CREATED)
    logins = rule(alerts, tenant, "Failed logins", (slack.id, mail.id))
    rule(alerts, tenant, "Exports", (slack.id,))
    with pytest.raises(Conflict) as refused:
        alerts.delete_channel(tenant.id, slack.id)
    assert refused.value.details[0].field == "rules"
    assert "'Failed logins'" in refused.value.details[0].reason
    assert "'Exports'" in refused.value.details[0].reason
    assert alerts.get_channel(tenant.id, slack.id) == slack
    assert [r.name for r in alerts.rules_using(tenant.id, slack.id)] == ["Exports",
                                                                         "Failed logins"]

    # Taken out of the rule, it may go; its pending deliveries become dead letters.
    alerts.add_delivery(delivery(tenant, 1, mail.id, logins.id))
    alerts.add_delivery(delivery(tenant, 2, mail.id, None, state="delivered"))
    assert alerts.update_rule(tenant.id, logins.id, "Failed logins", query="x", threshold=1,
                              window_seconds=0, group_by=None, quiet_seconds=0,
                              channels=(slack.id,), enabled=True, now=LATER) is not None
    assert alerts.delete_channel(tenant.id, mail.id)
    dead = alerts.get_delivery(tenant.id, "dlv-0001")
    assert dead is not None and dead.state == "dead" and dead.last_error == CHANNEL_DELETED
    kept = alerts.get_delivery(tenant.id, "dlv-0002")
    assert kept is not None and kept.state == "delivered"


# -- rules --------------------------------------------------------------------------


def test_a_rule_reads_back_whole_and_changes(alerts: AlertStore, tenant: Tenant) -> None:
    slack = channel(alerts, tenant)
    mail = channel(alerts, tenant, "Mail")
    made = rule(alerts, tenant, "Failed logins", (slack.id, mail.id))
    assert made == Rule(made.id, tenant.id, "Failed logins", "action:user.login result:failure",
                        5, 600, "source.ip", 300, (slack.id, mail.id), True, CREATED, CREATED)
    assert alerts.get_rule(tenant.id, made.id) == made
    assert alerts.rule_by_name(tenant.id, "failed LOGINS") == made
    assert alerts.rules(tenant.id) == [made]

    changed = alerts.update_rule(tenant.id, made.id, "Logins that failed", query="result:failure",
                                 threshold=1, window_seconds=0, group_by=None, quiet_seconds=0,
                                 channels=(mail.id,), enabled=False, now=LATER)
    assert changed == Rule(made.id, tenant.id, "Logins that failed", "result:failure", 1, 0,
                           None, 0, (mail.id,), False, CREATED, LATER)
    assert alerts.get_rule(tenant.id, made.id) == changed
    assert alerts.update_rule(tenant.id, made.id + 100, "x", query="", threshold=1,
                              window_seconds=0, group_by=None, quiet_seconds=0, channels=(),
                              enabled=True, now=LATER) is None

    assert alerts.delete_rule(tenant.id, made.id)
    assert alerts.get_rule(tenant.id, made.id) is None
    assert not alerts.delete_rule(tenant.id, made.id)


def test_a_rule_name_is_unique_per_tenant_whatever_its_case(
        alerts: AlertStore, tenant: Tenant, other: Tenant) -> None:
    rule(alerts, tenant, "Failed logins")
    second = rule(alerts, tenant, "Exports")
    with pytest.raises(Conflict) as refused:
        rule(alerts, tenant, "FAILED logins")
    assert refused.value.details[0].field == "name"
    with pytest.raises(Conflict):
        alerts.update_rule(tenant.id, second.id, "failed logins", query="", threshold=1,
                           window_seconds=0, group_by=None, quiet_seconds=0, channels=(),
                           enabled=True, now=LATER)
    assert alerts.get_rule(tenant.id, second.id) == second
    assert rule(alerts, other, "Failed logins").tenant_id == other.id


def test_enabled_rules_span_every_tenant(alerts: AlertStore, tenant: Tenant,
                                         other: Tenant) -> None:
    one = rule(alerts, tenant, "one")
    rule(alerts, tenant, "off", enabled=False)
    two = rule(alerts, other, "two")
    assert alerts.enabled_rules() == [one, two]


def test_no_call_reaches_another_tenants_rows(alerts: AlertStore, tenant: Tenant,
                                              other: Tenant) -> None:
    slack = channel(alerts, tenant)
    logins = rule(alerts, tenant, "Failed logins", (slack.id,))
    alerts.add_delivery(delivery(tenant, 1, slack.id, logins.id))

    assert alerts.get_channel(other.id, slack.id) is None
    assert alerts.channel_by_name(other.id, slack.name) is None
    assert alerts.channels(other.id) == []
    assert alerts.update_channel(other.id, slack.id, "mine", {}, LATER) is None
    assert not alerts.delete_channel(other.id, slack.id)
    assert alerts.get_rule(other.id, logins.id) is None
    assert alerts.rule_by_name(other.id, logins.name) is None
    assert alerts.rules(other.id) == []
    assert alerts.update_rule(other.id, logins.id, "mine", query="", threshold=1,
                              window_seconds=0, group_by=None, quiet_seconds=0, channels=(),
                              enabled=True, now=LATER) is None
    assert not alerts.delete_rule(other.id, logins.id)
    assert alerts.get_delivery(other.id, "dlv-0001") is None
    assert alerts.deliveries(other.id) == []
    assert alerts.retry(other.id, "dlv-0001", T0) is None
    assert alerts.counts(other.id) == {"pending": 0, "delivered": 0, "dead": 0}
    # Nothing changed for the owner.
    assert alerts.get_channel(tenant.id, slack.id) == slack
    assert alerts.get_rule(tenant.id, logins.id) == logins

    # A rule may not name another tenant's channel, nor an outbox row reach it.
    with pytest.raises(ValidationFailed) as refused:
        rule(alerts, other, "Theirs", (slack.id,))
    assert refused.value.details[0].field == "channels"
    assert alerts.rules(other.id) == []
    with pytest.raises(ValueError):
        alerts.add_delivery(delivery(other, 2, slack.id))
    with pytest.raises(ValueError):
        alerts.commit_batch(other.id, 10, [], [], [delivery(tenant, 3, slack.id)])
    # Nor a batch of one tenant write another's rule states.
    alerts.commit_batch(other.id, 10, [RuleState(logins.id, "", [T0])], [], [])
    assert alerts.states([logins.id]) == []


# -- the engine's batch -------------------------------------------------------------


def test_a_batch_stores_deliveries_states_and_cursor(alerts: AlertStore,
                                                     tenant: Tenant) -> None:
    slack = channel(alerts, tenant)
    logins = rule(alerts, tenant, "Failed logins", (slack.id,))
    assert alerts.cursor(tenant.id) is None
    assert alerts.states([logins.id]) == []

    quiet = RuleState(logins.id, "203.0.113.9", [], T0 + 300 * SECOND, 3, ["e6", "e7", "e8"],
                      T0 + SECOND, T0 + 3 * SECOND)
    counting = RuleState(logins.id, "198.51.100.7", [T0, T0 + 2 * SECOND])
    alerts.commit_batch(tenant.id, 42, [quiet, counting], [],
                        [delivery(tenant, 1, slack.id, logins.id)])
    assert alerts.cursor(tenant.id) == 42
    assert alerts.states([logins.id]) == [counting, quiet]
    assert [d.id for d in alerts.due(T0, 10)] == ["dlv-0001"]

    counting.window.append(T0 + 5 * SECOND)
    alerts.commit_batch(tenant.id, 50, [counting], [(logins.id, "203.0.113.9")], [])
    assert alerts.cursor(tenant.id) == 50
    assert alerts.states([logins.id]) == [counting]

    # Deleting the rule removes its states (and a state of a deleted rule is dropped).
    assert alerts.delete_rule(tenant.id, logins.id)
    assert alerts.states([logins.id]) == []
    alerts.commit_batch(tenant.id, 51, [counting], [], [])
    assert alerts.states([logins.id]) == []
    assert alerts.cursor(tenant.id) == 51
    # Its deliveries stay.
    assert alerts.get_delivery(tenant.id, "dlv-0001") is not None


def test_a_failing_batch_changes_nothing(alerts: AlertStore, tenant: Tenant) -> None:
    slack = channel(alerts, tenant)
    logins = rule(alerts, tenant, "Failed logins", (slack.id,))
    before = RuleState(logins.id, "", [T0])
    alerts.commit_batch(tenant.id, 7, [before], [], [delivery(tenant, 1, slack.id, logins.id)])

    after = RuleState(logins.id, "", [T0, T0 + SECOND])
    added = RuleState(logins.id, "x", [T0])
    with pytest.raises(DuplicateRow):
        alerts.commit_batch(tenant.id, 9, [after, added], [(logins.id, "")],
                            [delivery(tenant, 2, slack.id, logins.id),
                             delivery(tenant, 1, slack.id, logins.id)])
    assert alerts.cursor(tenant.id) == 7
    assert alerts.states([logins.id]) == [before]
    assert [d.id for d in alerts.deliveries(tenant.id)] == ["dlv-0001"]

    # And the store is usable after the rollback.
    alerts.commit_batch(tenant.id, 9, [after], [], [delivery(tenant, 2, slack.id, logins.id)])
    assert alerts.cursor(tenant.id) == 9
    assert alerts.states([logins.id]) == [after]


# -- the outbox ---------------------------------------------------------------------


def test_due_is_pending_and_due_oldest_first(alerts: AlertStore, tenant: Tenant,
                                             other: Tenant) -> None:
    mine = channel(alerts, tenant)
    theirs = channel(alerts, other)
    alerts.add_delivery(delivery(tenant, 1, mine.id, next_attempt_us=T0 + 3 * SECOND))
    alerts.add_delivery(delivery(other, 2, theirs.id, next_attempt_us=T0 + SECOND))
    alerts.add_delivery(delivery(tenant, 3, mine.id, next_attempt_us=T0 + 2 * SECOND))
    alerts.add_delivery(delivery(tenant, 4, mine.id, next_attempt_us=T0 + 60 * SECOND))
    alerts.add_delivery(delivery(tenant, 5, mine.id, state="delivered"))
    alerts.add_delivery(delivery(tenant, 6, mine.id, state="dead"))
    with pytest.raises(DuplicateRow):
        alerts.add_delivery(delivery(tenant, 1, mine.id))

    assert [d.id for d in alerts.due(T0 + 3 * SECOND, 10)] == ["dlv-0002", "dlv-0003",
                                                                "dlv-0001"]
    assert [d.id for d in alerts.due(T0 + 3 * SECOND, 2)] == ["dlv-0002", "dlv-0003"]
    assert alerts.due(T0, 10) == []
    assert alerts.due(T0 + 60 * SECOND, 10)[-1] == delivery(tenant, 4, mine.id,
                                                            next_attempt_us=T0 + 60 * SECOND)


def test_attempts_are_recorded_and_a_dead_letter_retried(alerts: AlertStore,
                                                         tenant: Tenant) -> None:
    slack = channel(alerts, tenant)
    for n in (1, 2, 3):
        alerts.add_delivery(delivery(tenant, n, slack.id))

    assert alerts.mark_failed("dlv-0001", 1, T0 + 5 * SECOND, "HTTP 503")
    failed = alerts.get_delivery(tenant.id, "dlv-0001")
    assert failed is not None
    assert (failed.state, failed.attempts, failed.next_attempt_us, failed.last_error) == (
        "pending", 1, T0 + 5 * SECOND, "HTTP 503")
    assert [d.id for d in alerts.due(T0, 10)] == ["dlv-0002", "dlv-0003"]

    assert alerts.mark_delivered("dlv-0002", 1, LATER)
    sent = alerts.get_delivery(tenant.id, "dlv-0002")
    assert sent is not None and (sent.state, sent.attempts, sent.delivered_at) == (
        "delivered", 1, LATER)

    assert alerts.mark_dead("dlv-0003", 10, "HTTP 404: no such webhook")
    dead = alerts.get_delivery(tenant.id, "dlv-0003")
    assert dead is not None and (dead.state, dead.attempts, dead.last_error) == (
        "dead", 10, "HTTP 404: no such webhook")
    # Only a pending delivery is marked.
    assert not alerts.mark_failed("dlv-0003", 11, T0, "x")
    assert not alerts.mark_delivered("dlv-0003", 11, LATER)
    assert not alerts.mark_dead("dlv-0002", 2, "x")

    retried = alerts.retry(tenant.id, "dlv-0003", T0 + 9 * SECOND)
    assert retried is not None
    assert (retried.state, retried.attempts, retried.next_attempt_us, retried.last_error) == (
        "pending", 0, T0 + 9 * SECOND, "HTTP 404: no such webhook")
    assert [d.id for d in alerts.due(T0 + 9 * SECOND, 10)] == ["dlv-0001", "dlv-0003"]
    # A pending one is made due now; a delivered one is answered as it is.
    again = alerts.retry(tenant.id, "dlv-0001", T0)
    assert again is not None and again.next_attempt_us == T0 and again.attempts == 0
    assert alerts.retry(tenant.id, "dlv-0002", T0) == sent
    assert alerts.retry(tenant.id, "dlv-9999", T0) is None


def test_deliveries_are_listed_newest_first_by_page_and_counted(
        alerts: AlertStore, tenant: Tenant) -> None:
    slack = channel(alerts, tenant)
    states: list[DeliveryState] = ["pending", "dead", "delivered", "dead", "pending"]
    for n, state in enumerate(states, start=1):
        alerts.add_delivery(delivery(tenant, n, slack.id, state=state, kind="test"))
    ids = [d.id for d in alerts.deliveries(tenant.id)]
    assert ids == ["dlv-0005", "dlv-0004", "dlv-0003", "dlv-0002", "dlv-0001"]
    assert [d.id for d in alerts.deliveries(tenant.id, limit=2)] == ids[:2]
    assert [d.id for d in alerts.deliveries(tenant.id, limit=2, before_id="dlv-0004")] == [
        "dlv-0003", "dlv-0002"]
    assert [d.id for d in alerts.deliveries(tenant.id, "dead")] == ["dlv-0004", "dlv-0002"]
    assert [d.id for d in alerts.deliveries(tenant.id, "dead", before_id="dlv-0004")] == [
        "dlv-0002"]
    assert alerts.counts(tenant.id) == {"pending": 2, "delivered": 1, "dead": 2}
    one = alerts.get_delivery(tenant.id, "dlv-0001")
    assert one == delivery(tenant, 1, slack.id, kind="test")


# -- leases -------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires(alerts: AlertStore) -> None:
    ttl = 30 * SECOND
    assert alerts.acquire_lease("alerts.evaluator", "host-a:1", T0, ttl)
    assert not alerts.acquire_lease("alerts.evaluator", "host-b:2", T0 + SECOND, ttl)
    # The holder renews it; another job's lease is separate.
    assert alerts.acquire_lease("alerts.evaluator", "host-a:1", T0 + 20 * SECOND, ttl)
    assert alerts.acquire_lease("alerts.delivery", "host-b:2", T0, ttl)
    assert not alerts.acquire_lease("alerts.evaluator", "host-b:2", T0 + 49 * SECOND, ttl)
    # Once it expires, another takes it over and the first is refused.
    assert alerts.acquire_lease("alerts.evaluator", "host-b:2", T0 + 50 * SECOND, ttl)
    assert not alerts.acquire_lease("alerts.evaluator", "host-a:1", T0 + 51 * SECOND, ttl)
    # Only the holder releases it; then anyone may take it at once.
    assert not alerts.release_lease("alerts.evaluator", "host-a:1")
    assert alerts.release_lease("alerts.evaluator", "host-b:2")
    assert alerts.acquire_lease("alerts.evaluator", "host-a:1", T0 + 52 * SECOND, ttl)


def test_holders_racing_for_a_lease_get_it_once(alerts: AlertStore) -> None:
    start = threading.Barrier(8)
    won: list[str] = []

    def race(holder: str) -> None:
        start.wait()
        if alerts.acquire_lease("alerts.delivery", holder, T0, 30 * SECOND):
            won.append(holder)

    threads = [threading.Thread(target=race, args=(f"worker-{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
