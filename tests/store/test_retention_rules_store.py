"""The retention rules contract (``store.retention_rules``), run against SQLite and
PostgreSQL alike: a policy per (tenant, category) set, replaced and removed, the
default '*' listed first; legal holds read back whole, listed newest first with or
without the released ones, released once only; no call reaching another tenant."""

from __future__ import annotations

import pytest

from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant
from trailbook.store.retention_rules import LegalHold, RetentionPolicy, RetentionRuleStore

CREATED = "2026-05-28T10:00:00.000000Z"
LATER = "2026-06-02T08:30:00.000000Z"
RELEASED = "2026-09-01T12:00:00.000000Z"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rules(tb: Trailbook) -> RetentionRuleStore:
    return tb.store.retention_rules


@pytest.fixture
def other(tb: Trailbook) -> Tenant:
    return tb.tenants.create("globex")


def hold(tenant: Tenant, n: int, created_at: str = CREATED, **kw: str) -> LegalHold:
    fields = {"name": f"Dispute {n}", "query": f"target.id:acct-{n}",
              "reason": f"billing dispute, ticket {n}"}
    fields.update(kw)
    return LegalHold(f"0190{n:028x}", tenant.id, fields["name"], fields["query"],
                     fields["reason"], created_at, "olga@acme.example")


def test_a_policy_is_set_replaced_and_removed(rules: RetentionRuleStore,
                                              tenant: Tenant) -> None:
    assert rules.policies(tenant.id) == []
    assert rules.policy(tenant.id, "access") is None
    made = rules.set_policy(tenant.id, "access", 365, CREATED, "olga@acme.example")
    assert made == RetentionPolicy(tenant.id, "access", 365, CREATED, "olga@acme.example")
    assert rules.policy(tenant.id, "access") == made

    replaced = rules.set_policy(tenant.id, "access", None, LATER, "trailbook CLI (root)")
    assert replaced.keep_days is None
    assert rules.policy(tenant.id, "access") == replaced
    assert rules.policies(tenant.id) == [replaced]

    assert rules.delete_policy(tenant.id, "access") is True
    assert rules.policy(tenant.id, "access") is None
    assert rules.delete_policy(tenant.id, "access") is False


def test_policies_list_the_default_first_then_by_category(rules: RetentionRuleStore,
                                                          tenant: Tenant) -> None:
    for category, days in (("general", 90), ("admin", None), ("*", 730), ("device", 30)):
        rules.set_policy(tenant.id, category, days, CREATED, "olga@acme.example")
    listed = rules.policies(tenant.id)
    assert [(p.category, p.keep_days) for p in listed] == [
        ("*", 730), ("admin", None), ("device", 30), ("general", 90)]
    # '*' is its own row: the policy of a category does not fall back to it here.
    assert rules.policy(tenant.id, "client") is None


def test_policies_stay_within_their_tenant(rules: RetentionRuleStore, tenant: Tenant,
                                           other: Tenant) -> None:
    rules.set_policy(tenant.id, "*", 30, CREATED, "olga@acme.example")
    rules.set_policy(other.id, "*", 3650, CREATED, "root@globex.example")
    assert [p.keep_days for p in rules.policies(tenant.id)] == [30]
    assert [p.keep_days for p in rules.policies(other.id)] == [3650]
    assert rules.delete_policy(other.id, "*") is True
    assert rules.policy(tenant.id, "*") is not None


def test_a_hold_reads_back_whole_and_is_released_once(rules: RetentionRuleStore,
                                                      tenant: Tenant) -> None:
    placed = rules.add_hold(hold(tenant, 1, query='actor.email:ivan@example.com '
                                              'before:2026-07-01 "pool change"',
                                 reason="Zoë's request — ticket 4471\nsecond line"))
    assert placed.active
    assert rules.hold(tenant.id, placed.id) == placed
    assert rules.holds(tenant.id) == [placed]

    assert rules.release_hold(tenant.id, placed.id, RELEASED, "olga@acme.example",
                              "settled") is True
    released = rules.hold(tenant.id, placed.id)
    assert released is not None and not released.active
    assert (released.released_at, released.released_by, released.release_reason) == (
        RELEASED, "olga@acme.example", "settled")
    assert (released.name, released.query, released.reason) == (
        placed.name, placed.query, placed.reason)
    # A release is never overwritten.
    assert rules.release_hold(tenant.id, placed.id, LATER, "mallory", "again") is False
    assert rules.hold(tenant.id, placed.id) == released
    assert rules.release_hold(tenant.id, "0" * 32, LATER, "x", "none such") is False


def test_holds_list_newest_first_and_the_released_on_request(
        rules: RetentionRuleStore, tenant: Tenant) -> None:
    first = rules.add_hold(hold(tenant, 1, CREATED))
    second = rules.add_hold(hold(tenant, 2, LATER))
    third = rules.add_hold(hold(tenant, 3, RELEASED))
    rules.release_hold(tenant.id, second.id, RELEASED, "olga@acme.example", "settled")
    assert [h.id for h in rules.holds(tenant.id)] == [third.id, second.id, first.id]
    assert [h.id for h in rules.holds(tenant.id, include_released=False)] == [
        third.id, first.id]


def test_holds_stay_within_their_tenant(rules: RetentionRuleStore, tenant: Tenant,
                                        other: Tenant) -> None:
    mine = rules.add_hold(hold(tenant, 1))
    assert rules.hold(other.id, mine.id) is None
    assert rules.holds(other.id) == []
    assert rules.release_hold(other.id, mine.id, RELEASED, "root@globex", "x") is False
    found = rules.hold(tenant.id, mine.id)
    assert found is not None and found.active
