"""The retention rules service: policies and legal holds validated with the field
named, every change audited in ``admin`` with its old and new values, only callers
with ``retention.manage`` let in (the CLI, as None, always), and what the purge run
reads: the policies and each active hold with its filter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from conftest import setup_key
from staff_helpers import PASSWORD, add_user
from trailbook.errors import (
    Conflict,
    Forbidden,
    NotFound,
    QuerySyntaxError,
    TrailbookError,
    ValidationFailed,
)
from trailbook.model.event import convert_event
from trailbook.model.timefmt import parse_rfc3339
from trailbook.query.evaluate import matches
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI, RequestContext
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.service.retention.rules import (
    MAX_ACTIVE_HOLDS,
    categories_view,
    effective_keep_days,
)
from trailbook.store.records import Tenant
from trailbook.store.retention_rules import LegalHold

CONTEXT = RequestContext(ip="203.0.113.7", user_agent="pytest", request_id="req-1")


def staff(tb: Trailbook, tenant: Tenant, email: str, role: str) -> Principal:
    add_user(tb, tenant, email, role)
    return tb.sessions.login(email, PASSWORD, CLI)[1]


@pytest.fixture
def owner(tb: Trailbook, tenant: Tenant) -> Principal:
    return staff(tb, tenant, "olga@acme.example", "owner")


def admin_events(tb: Trailbook, tenant: Tenant, prefix: str = "retention") -> list[dict[str, Any]]:
    """The tenant's retention audit events, oldest first."""
    found = tb.store.search(tenant.id, EventFilter(categories=("admin",),
                                                   action_prefixes=(prefix,)), None, 500)
    return [orjson.loads(e.doc) for e in reversed(found)]


def changes(event: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["field"]: (c.get("old"), c.get("new")) for c in event["changes"]}


# -- policies ----------------------------------------------------------------


def test_policies_are_set_changed_removed_and_audited(tb: Trailbook, tenant: Tenant,
                                                      owner: Principal) -> None:
    rules = tb.retention_rules
    made = rules.set_policy(owner, tenant, "access", 365, CONTEXT)
    assert (made.category, made.keep_days, made.updated_by) == (
        "access", 365, "olga@acme.example")
    rules.set_policy(owner, tenant, "access", None, CONTEXT)  # forever
    rules.set_policy(owner, tenant, "default", 730, CONTEXT)  # the word for '*'
    rules.set_policy(owner, tenant, "*", 730, CONTEXT)  # the same: not audited again
    gone = rules.delete_policy(owner, tenant, "access", CONTEXT)
    assert gone.keep_days is None
    assert [(p.category, p.keep_days) for p in rules.list_policies(owner, tenant)] == [
        ("*", 730)]

    audit = admin_events(tb, tenant)
    assert [(e["action"], e["action_type"]) for e in audit] == [
        ("retention.policy.set", "create"), ("retention.policy.set", "update"),
        ("retention.policy.set", "create"), ("retention.policy.delete", "delete")]
    assert [changes(e)["keep_days"] for e in audit] == [
        (None, 365), (365, None), (None, 730), (None, None)]
    assert [e["targets"][0] for e in audit] == [
        {"type": "retention_policy", "id": "access", "name": "access"}] * 2 + [
        {"type": "retention_policy", "id": "*", "name": "default"}] + [
        {"type": "retention_policy", "id": "access", "name": "access"}]
    first = audit[0]
    assert first["category"] == "admin" and first["severity"] == "notice"
    assert first["actor"]["email"] == "olga@acme.example"
    assert first["source"]["ip"] == "203.0.113.7" and first["request_id"] == "req-1"


def test_the_cli_changes_policies_as_itself(tb: Trailbook, tenant: Tenant) -> None:
    made = tb.retention_rules.set_policy(None, tenant, "device", 30, CLI)
    assert made.updated_by.startswith("trailbook CLI")
    [event] = admin_events(tb, tenant)
    assert event["actor"]["id"] == "cli" and event["actor"]["type"] == "system"


@pytest.mark.parametrize(("category", "keep_days", "field"), [
    ("devices", 30, "category"),  # not a category of the tenant
    ("", 30, "category"),
    ("access", 0, "keep_days"),
    ("access", 36_501, "keep_days"),
    ("access", -5, "keep_days"),
    ("access", True, "keep_days"),
    ("access", "30", "keep_days"),
    ("access", 30.0, "keep_days"),
])
def test_bad_policies_are_refused_with_the_field_named(
        tb: Trailbook, tenant: Tenant, owner: Principal, category: str, keep_days: Any,
        field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        tb.retention_rules.set_policy(owner, tenant, category, keep_days, CONTEXT)
    assert [d.field for d in refused.value.details] == [field]
    assert tb.store.retention_rules.policies(tenant.id) == []
    assert admin_events(tb, tenant) == []


def test_a_tenants_own_category_may_have_a_policy(tb: Trailbook, tenant: Tenant,
                                                  owner: Principal) -> None:
    with pytest.raises(ValidationFailed):
        tb.retention_rules.set_policy(owner, tenant, "billing", 400, CONTEXT)
    grown = tb.tenants.add_category(tenant, "billing")
    made = tb.retention_rules.set_policy(None, grown, "billing", 400, CLI)
    assert made.keep_days == 400
    view = {c["category"]: c for c in categories_view(grown, [made])}
    assert view["billing"] == {"category": "billing", "keep_days": 400, "source": "own"}
    assert view["general"] == {"category": "general", "keep_days": None, "source": "none"}


def test_a_category_named_default_is_that_category(tb: Trailbook, tenant: Tenant) -> None:
    grown = tb.tenants.add_category(tenant, "default")
    made = tb.retention_rules.set_policy(None, grown, "default", 10, CLI)
    assert made.category == "default"
    assert tb.retention_rules.set_policy(None, grown, "*", 20, CLI).category == "*"


def test_removing_a_policy_that_is_not_there_is_not_found(tb: Trailbook, tenant: Tenant,
                                                          owner: Principal) -> None:
    with pytest.raises(NotFound) as missing:
        tb.retention_rules.delete_policy(owner, tenant, "access", CONTEXT)
    assert missing.value.details[0].field == "category"
    assert admin_events(tb, tenant) == []


def test_the_effective_policy_is_the_categorys_else_the_default_else_forever(
        tb: Trailbook, tenant: Tenant) -> None:
    rules = tb.retention_rules
    assert effective_keep_days(rules.policies_of(tenant), "access") is None
    rules.set_policy(None, tenant, "*", 90, CLI)
    rules.set_policy(None, tenant, "admin", None, CLI)
    rules.set_policy(None, tenant, "access", 365, CLI)
    policies = rules.policies_of(tenant)
    assert [effective_keep_days(policies, c) for c in ("access", "admin", "device")] == [
        365, None, 90]


# -- legal holds ---------------------------------------------------------------


def test_holds_are_placed_released_with_a_reason_and_audited(
        tb: Trailbook, tenant: Tenant, owner: Principal) -> None:
    rules = tb.retention_rules
    made = rules.create_hold(owner, tenant, "  Dispute 4471 ",
                             "target.id:acct-4471 before:2026-07-01", " billing dispute ",
                             CONTEXT)
    assert (made.name, made.reason, made.active) == ("Dispute 4471", "billing dispute", True)
    assert made.created_by == "olga@acme.example"
    assert rules.list_holds(owner, tenant) == [made]

    with pytest.raises(ValidationFailed) as no_reason:
        rules.release_hold(owner, tenant, made.id, "   ", CONTEXT)
    assert no_reason.value.details[0].field == "reason"
    assert rules.hold(owner, tenant, made.id).active

    released = rules.release_hold(owner, tenant, made.id, "settled in court", CONTEXT)
    assert not released.active and released.release_reason == "settled in court"
    assert rules.list_holds(owner, tenant, include_released=False) == []
    assert rules.list_holds(owner, tenant) == [released]
    with pytest.raises(Conflict):
        rules.release_hold(owner, tenant, made.id, "again", CONTEXT)
    with pytest.raises(NotFound) as unknown:
        rules.release_hold(owner, tenant, "0" * 32, "x", CONTEXT)
    assert unknown.value.details[0].field == "hold_id"

    create, release = admin_events(tb, tenant)
    assert (create["action"], release["action"]) == (
        "retention.hold.create", "retention.hold.release")
    target = {"type": "legal_hold", "id": made.id, "name": "Dispute 4471"}
    assert create["targets"] == [target] and release["targets"] == [target]
    assert changes(create) == {"name": (None, "Dispute 4471"),
                               "query": (None, "target.id:acct-4471 before:2026-07-01"),
                               "reason": (None, "billing dispute")}
    assert changes(release) == {"released_at": (None, released.released_at),
                                "release_reason": (None, "settled in court")}


@pytest.mark.parametrize(("name", "query", "reason", "fields"), [
    ("", "action:payout.*", "audit", ["name"]),
    ("x" * 101, "action:payout.*", "audit", ["name"]),
    ("Payouts", "", "audit", ["query"]),
    ("Payouts", "severity:bogus", "audit", ["query"]),
    ("Payouts", "action:payout.* last:30d", "audit", ["query"]),
    ("Payouts", "action:payout.* tag:fraud", "audit", ["query"]),
    ("Payouts", "action:payout.* -tag:ok", "audit", ["query"]),
    ("Payouts", "action:payout.*", "", ["reason"]),
    ("Payouts", "action:payout.*", "  \n ", ["reason"]),
    ("Payouts", "action:payout.*", "x" * 1001, ["reason"]),
    ("Pay\x07outs", "action:payout.*", "audit", ["name"]),
    ("", "last:1h", "", ["name", "reason", "query"]),
])
def test_bad_holds_are_refused_with_the_fields_named(
        tb: Trailbook, tenant: Tenant, owner: Principal, name: str, query: str,
        reason: str, fields: list[str]) -> None:
    with pytest.raises((ValidationFailed, QuerySyntaxError)) as refused:
        tb.retention_rules.create_hold(owner, tenant, name, query, reason, CONTEXT)
    assert sorted(d.field for d in refused.value.details) == sorted(fields)
    assert tb.store.retention_rules.holds(tenant.id) == []
    assert admin_events(tb, tenant) == []


def test_a_relative_time_term_is_refused_at_its_position(
        tb: Trailbook, tenant: Tenant, owner: Principal) -> None:
    with pytest.raises(QuerySyntaxError) as refused:
        tb.retention_rules.create_hold(owner, tenant, "Payouts", "action:payout.* last:30d",
                                       "audit", CONTEXT)
    assert refused.value.position == len("action:payout.* ") + 1
    assert "after:" in refused.value.details[0].reason


def test_active_holds_carry_their_filters_for_the_purge(tb: Trailbook, tenant: Tenant,
                                                        owner: Principal) -> None:
    rules = tb.retention_rules
    kept = rules.create_hold(owner, tenant, "Rack B4", 'target.name:"Rack B4" '
                             "after:2026-01-01 before:2026-03-01", "RMA claim", CONTEXT)
    gone = rules.create_hold(owner, tenant, "Old", "actor.id:u-9", "closed", CONTEXT)
    rules.release_hold(owner, tenant, gone.id, "case closed", CONTEXT)
    [(hold, flt)] = rules.active_holds(tenant)
    assert hold == kept
    assert flt.target_names == ("Rack B4",)
    assert (flt.since_us, flt.until_us) == (parse_rfc3339("2026-01-01T00:00:00Z"),
                                            parse_rfc3339("2026-03-01T00:00:00Z"))
    base = {"category": "device", "action": "miner.reboot", "actor": {"id": "u-1"},
            "targets": [{"id": "r-b4", "name": "Rack B4", "type": "rack"}]}
    tb.events.ingest(tenant, [convert_event({**base, "occurred_at": at}) for at in (
        "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z")], batch=False)
    docs = [orjson.loads(e.doc) for e in tb.store.search(
        tenant.id, EventFilter(categories=("device",)), None, 10)]
    assert [d["occurred_at"][:10] for d in docs if matches(flt, d)] == ["2026-02-01"]


def test_a_stored_hold_that_no_longer_parses_stops_the_purge(tb: Trailbook,
                                                             tenant: Tenant) -> None:
    tb.store.retention_rules.add_hold(LegalHold(
        "0190" + "a" * 28, tenant.id, "Legacy", "nosuchfield:x", "kept from v0",
        "2026-01-01T00:00:00.000000Z", "root"))
    with pytest.raises(Conflict) as stopped:
        tb.retention_rules.active_holds(tenant)
    assert "Legacy" in stopped.value.message
    assert tb.retention_rules.policies_of(tenant) == []


def test_active_holds_are_bounded(tb: Trailbook, tenant: Tenant,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trailbook.service.retention.rules.MAX_ACTIVE_HOLDS", 2)
    rules = tb.retention_rules
    first = rules.create_hold(None, tenant, "a", "actor.id:a", "r", CLI)
    rules.create_hold(None, tenant, "b", "actor.id:b", "r", CLI)
    with pytest.raises(ValidationFailed) as full:
        rules.create_hold(None, tenant, "c", "actor.id:c", "r", CLI)
    assert full.value.details[0].field == "holds"
    rules.release_hold(None, tenant, first.id, "done", CLI)
    assert rules.create_hold(None, tenant, "c", "actor.id:c", "r", CLI).active
    assert MAX_ACTIVE_HOLDS >= 100


# -- permissions -------------------------------------------------------------


def test_only_retention_managers_are_let_in(tb: Trailbook, tenant: Tenant,
                                           owner: Principal) -> None:
    made = tb.retention_rules.create_hold(owner, tenant, "Case", "actor.id:u-1", "r",
                                          CONTEXT)
    auditor = staff(tb, tenant, "aud@acme.example", "auditor")
    key = tb.keys.authenticate(setup_key(tb, tenant, ("ingest", "read")))
    admin = staff(tb, tenant, "adam@acme.example", "admin")
    for caller in (auditor, key):
        calls = [
            lambda p: tb.retention_rules.list_policies(p, tenant),
            lambda p: tb.retention_rules.set_policy(p, tenant, "*", 30, CONTEXT),
            lambda p: tb.retention_rules.delete_policy(p, tenant, "*", CONTEXT),
            lambda p: tb.retention_rules.list_holds(p, tenant),
            lambda p: tb.retention_rules.create_hold(p, tenant, "x", "actor.id:x", "r",
                                                     CONTEXT),
            lambda p: tb.retention_rules.release_hold(p, tenant, made.id, "r", CONTEXT),
        ]
        for call in calls:
            with pytest.raises(Forbidden) as refused:
                call(caller)
            assert refused.value.permission == "retention.manage"
    assert tb.retention_rules.hold(owner, tenant, made.id).active
    assert tb.store.retention_rules.policies(tenant.id) == []
    # admin has every permission
    assert tb.retention_rules.set_policy(admin, tenant, "*", 30, CONTEXT).keep_days == 30


def test_errors_are_trailbook_errors_with_one_line(tb: Trailbook, tenant: Tenant) -> None:
    with pytest.raises(TrailbookError) as refused:
        tb.retention_rules.set_policy(None, tenant, "access", 0, CLI)
    assert "keep_days" in refused.value.one_line()
