"""/api/v1/alerts on both backends: channels and rules managed by a role with
rules.manage (others refused), bad input named by field, secrets never shown, every
change audited, a test message sent through a real loopback receiver, and the outbox
with its dead letters and the retry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from notify.loopback import Reply, http_receiver
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.notify.channels import verify_signature
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

URL = "/api/v1/alerts"
SECRET = "a webhook secret of some length"


@pytest.fixture
def owner(tb: Trailbook, tenant: Tenant) -> Iterator[TestClient]:
    add_user(tb, tenant, "olga@acme.example", "owner")
    with sign_in(create_app(tb), "olga@acme.example") as http:
        yield http


def test_channels_and_rules_are_managed_audited_and_masked(
        tb: Trailbook, tenant: Tenant, owner: TestClient) -> None:
    made = owner.post(f"{URL}/channels", json={
        "name": "Ops hook", "kind": "webhook",
        "config": {"url": "https://hooks.example.com/in", "secret": SECRET}})
    assert made.status_code == 201, made.text
    channel = made.json()
    assert channel["config"]["secret"] == "********"
    assert SECRET not in owner.get(f"{URL}/channels").text

    rule = owner.post(f"{URL}/rules", json={
        "name": "Failed logins", "query": "action:user.login result:failure",
        "threshold": 5, "window_seconds": 600, "group_by": "source.ip",
        "channels": ["ops HOOK"]})
    assert rule.status_code == 201, rule.text
    body = rule.json()
    assert body["channels"] == ["Ops hook"] and body["quiet_seconds"] == 300
    changed = owner.patch(f"{URL}/rules/{body['id']}", json={"enabled": False,
                                                             "threshold": 10})
    assert changed.status_code == 200
    assert (changed.json()["enabled"], changed.json()["threshold"]) == (False, 10)
    # An update that sends the mask keeps the secret; a new one replaces it.
    kept = owner.patch(f"{URL}/channels/{channel['id']}", json={"config": {
        "url": "https://hooks.example.com/v2", "secret": "********"}})
    assert kept.status_code == 200
    stored = tb.store.alerts.get_channel(tenant.id, channel["id"])
    assert stored is not None and stored.config["secret"] == SECRET
    assert stored.config["url"] == "https://hooks.example.com/v2"
    # A channel a rule uses cannot go; the rule first.
    refused = owner.delete(f"{URL}/channels/{channel['id']}")
    assert refused.status_code == 409 and "Failed logins" in refused.text
    assert owner.delete(f"{URL}/rules/{body['id']}").status_code == 200
    assert owner.delete(f"{URL}/channels/{channel['id']}").status_code == 200

    audit = owner.get("/api/v1/events", params={"query": "action:alert.*"}).json()["events"]
    assert [e["action"] for e in reversed(audit)] == [
        "alert.channel.create", "alert.rule.create", "alert.rule.update",
        "alert.channel.update", "alert.rule.delete", "alert.channel.delete"]
    assert all(e["category"] == "admin" for e in audit)
    assert SECRET not in str(audit)
    update = next(e for e in audit if e["action"] == "alert.rule.update")
    assert {c["field"] for c in update["changes"]} == {"enabled", "threshold"}


@pytest.mark.parametrize(("path", "body", "field"), [
    ("channels", {"name": "x", "kind": "pager", "config": {}}, "kind"),
    ("channels", {"name": "x", "kind": "webhook", "config": {"url": "ftp://a", "secret": SECRET}},
     "config.url"),
    ("channels", {"name": "", "kind": "slack", "config": {}}, "name"),
    ("rules", {"name": "r", "query": "severity:bogus", "channels": ["hooks"]}, "query"),
    ("rules", {"name": "r", "query": "severity:critical last:1h", "channels": ["hooks"]},
     "query"),
    ("rules", {"name": "r", "query": "severity:critical", "channels": ["nope"]}, "channels"),
    ("rules", {"name": "r", "query": "severity:critical", "channels": []}, "channels"),
    ("rules", {"name": "r", "query": "x", "threshold": 5, "channels": ["hooks"]},
     "window_seconds"),
    ("rules", {"name": "r", "query": "x", "group_by": "password", "channels": ["hooks"]},
     "group_by"),
])
def test_bad_input_is_named_and_nothing_is_stored(
        tb: Trailbook, tenant: Tenant, owner: TestClient, path: str, body: dict[str, Any],
        field: str) -> None:
    owner.post(f"{URL}/channels", json={"name": "hooks", "kind": "webhook", "config": {
        "url": "https://hooks.example.com/in", "secret": SECRET}})
    answer = owner.post(f"{URL}/{path}", json=body)
    assert answer.status_code in (400, 422), answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]], answer.text
    assert tb.store.alerts.rules(tenant.id) == []
    assert len(tb.store.alerts.channels(tenant.id)) == 1


def test_only_rules_managers_reach_alerts(tb: Trailbook, tenant: Tenant,
                                          owner: TestClient) -> None:
    add_user(tb, tenant, "aud@acme.example", "auditor")
    app = create_app(tb)
    with sign_in(app, "aud@acme.example") as auditor, TestClient(app) as key:
        key.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
        for http in (auditor, key):
            assert http.get(f"{URL}/rules").status_code == 403
            assert http.post(f"{URL}/channels", json={
                "name": "x", "kind": "slack", "config": {}}).status_code == 403
    other = tb.tenants.create("globex")
    add_user(tb, other, "root@globex.example", "owner")
    made = owner.post(f"{URL}/channels", json={"name": "hooks", "kind": "webhook", "config": {
        "url": "https://hooks.example.com/in", "secret": SECRET}}).json()
    with sign_in(app, "root@globex.example") as stranger:
        assert stranger.get(f"{URL}/channels/{made['id']}").status_code == 404
        assert stranger.get(f"{URL}/channels").json() == {"channels": []}


def test_test_message_dead_letter_and_retry(tb: Trailbook, tenant: Tenant,
                                            owner: TestClient) -> None:
    with http_receiver(Reply(200), Reply(410, b"gone"), Reply(200)) as web:
        made = owner.post(f"{URL}/channels", json={"name": "hooks", "kind": "webhook",
                                                   "config": {"url": web.url, "secret": SECRET}})
        channel = made.json()
        tested = owner.post(f"{URL}/channels/{channel['id']}/test")
        assert tested.status_code == 200 and tested.json()["delivered"] is True
        [request] = web.requests
        assert request.json()["kind"] == "test"
        assert verify_signature(SECRET, request.headers["trailbook-timestamp"], request.body,
                                request.headers["trailbook-signature"])
        owner.post(f"{URL}/rules", json={"name": "Critical", "query": "severity:critical",
                                         "channels": ["hooks"]})
        asyncio.run(tb.alert_runner.round())  # the cursor starts at the head
        with TestClient(create_app(tb)) as key:
            key.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
            assert key.post("/api/v1/events", json=[minimal_event(
                severity="critical", action="payout.override")]).status_code == 201
        asyncio.run(tb.alert_runner.round())
        dead = owner.get(f"{URL}/deliveries", params={"state": "dead"}).json()
        [letter] = dead["deliveries"]
        assert dead["counts"]["dead"] == 1 and "410" in letter["last_error"]
        assert letter["channel"] == "hooks" and letter["rule"] == "Critical"
        retried = owner.post(letter["retry"])
        assert retried.status_code == 200 and retried.json()["state"] == "pending"
        asyncio.run(tb.alert_runner.round())
        assert owner.get(f"{URL}/deliveries/{letter['id']}").json()["state"] == "delivered"
        assert [r.headers["trailbook-delivery"] for r in web.requests[1:]] == [
            letter["id"], letter["id"]]
        again = owner.post(letter["retry"])
        assert again.status_code == 409
        assert owner.get(f"{URL}/deliveries", params={"state": "lost"}).status_code == 422


@pytest.mark.parametrize("field", ["name", "query", "threshold", "window_seconds",
                                   "channels", "enabled"])
def test_a_rule_change_cannot_null_a_required_field(tb: Trailbook, tenant: Tenant,
                                                    owner: TestClient, field: str) -> None:
    owner.post(f"{URL}/channels", json={"name": "hooks", "kind": "webhook", "config": {
        "url": "https://hooks.example.com/in", "secret": SECRET}})
    rule = owner.post(f"{URL}/rules", json={"name": "Critical", "query": "severity:critical",
                                            "channels": ["hooks"]}).json()
    answer = owner.patch(f"{URL}/rules/{rule['id']}", json={field: None})
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == [field]
    assert owner.get(f"{URL}/rules/{rule['id']}").json() == rule  # nothing changed
    # group_by and quiet_seconds may be nulled: no grouping, the default quiet period
    assert owner.patch(f"{URL}/rules/{rule['id']}", json={
        "group_by": None, "quiet_seconds": None}).status_code == 200
