"""/api/v1/retention policies and legal holds on both backends: managed by a role with
retention.manage (others, and API keys, refused), the default policy reached as %2A,
* or `default`, bad input named by field with nothing stored, every change audited in
`admin`, holds released once with a reason and listed afterwards, tenants apart; the
runs endpoints reached and guarded (what a run does is tested with the purge run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import setup_key
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

URL = "/api/v1/retention"
HOLD = {"name": "Dispute 4471", "query": "target.id:acct-4471 before:2026-07-01",
        "reason": "billing dispute, ticket 4471"}


@pytest.fixture
def owner(tb: Trailbook, tenant: Tenant) -> Iterator[TestClient]:
    add_user(tb, tenant, "olga@acme.example", "owner")
    with sign_in(create_app(tb), "olga@acme.example") as http:
        yield http


def fields(answer: Any) -> list[str]:
    return [d["field"] for d in answer.json()["error"]["details"]]


def test_policies_are_set_listed_removed_and_audited(tb: Trailbook, tenant: Tenant,
                                                     owner: TestClient) -> None:
    access = owner.put(f"{URL}/policies/access", json={"keep_days": 365})
    assert access.status_code == 200, access.text
    assert access.json()["category"] == "access" and access.json()["keep_days"] == 365
    assert access.json()["updated_by"] == "olga@acme.example"
    for path, days in (("%2A", 730), ("*", 700), ("default", None)):
        answer = owner.put(f"{URL}/policies/{path}", json={"keep_days": days})
        assert answer.status_code == 200, answer.text
        assert answer.json()["category"] == "*" and answer.json()["keep_days"] == days
    owner.put(f"{URL}/policies/default", json={"keep_days": 90})

    listed = owner.get(f"{URL}/policies").json()
    assert [(p["category"], p["keep_days"]) for p in listed["policies"]] == [
        ("*", 90), ("access", 365)]
    by_category = {c["category"]: c for c in listed["categories"]}
    assert by_category["access"] == {"category": "access", "keep_days": 365, "source": "own"}
    assert by_category["device"] == {"category": "device", "keep_days": 90,
                                     "source": "default"}

    gone = owner.delete(f"{URL}/policies/access")
    assert gone.status_code == 200 and gone.json()["keep_days"] == 365
    assert owner.delete(f"{URL}/policies/access").status_code == 404
    assert owner.delete(f"{URL}/policies/%2A").status_code == 200
    assert owner.get(f"{URL}/policies").json()["policies"] == []

    audit = owner.get("/api/v1/events", params={"query": "action:retention.*"}).json()[
        "events"]
    assert [e["action"] for e in reversed(audit)] == [
        "retention.policy.set"] * 5 + ["retention.policy.delete"] * 2
    assert all(e["category"] == "admin" for e in audit)
    keep = [next(c for c in e["changes"] if c["field"] == "keep_days")
            for e in reversed(audit)]
    assert [(c.get("old"), c.get("new")) for c in keep] == [
        (None, 365), (None, 730), (730, 700), (700, None), (None, 90), (365, None),
        (90, None)]


def test_holds_are_placed_released_and_kept_in_the_list(tb: Trailbook, tenant: Tenant,
                                                        owner: TestClient) -> None:
    made = owner.post(f"{URL}/holds", json=HOLD)
    assert made.status_code == 201, made.text
    hold = made.json()
    assert hold["active"] is True and hold["created_by"] == "olga@acme.example"
    assert {k: hold[k] for k in HOLD} == HOLD
    assert owner.get(f"{URL}/holds/{hold['id']}").json() == hold

    refused = owner.post(f"{URL}/holds/{hold['id']}/release", json={"reason": " "})
    assert refused.status_code == 422 and fields(refused) == ["reason"]
    missing = owner.post(f"{URL}/holds/{hold['id']}/release", json={})
    assert missing.status_code == 422 and "reason" in fields(missing)[0]
    released = owner.post(f"{URL}/holds/{hold['id']}/release",
                          json={"reason": "settled, ticket closed"})
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["active"] is False and body["release_reason"] == "settled, ticket closed"
    assert body["released_by"] == "olga@acme.example" and body["released_at"]
    again = owner.post(f"{URL}/holds/{hold['id']}/release", json={"reason": "again"})
    assert again.status_code == 409
    assert owner.post(f"{URL}/holds/{'0' * 32}/release",
                      json={"reason": "x"}).status_code == 404

    assert owner.get(f"{URL}/holds").json()["holds"] == [body]
    assert owner.get(f"{URL}/holds", params={"include_released": "false"}).json() == {
        "holds": []}
    audit = owner.get("/api/v1/events", params={"query": "action:retention.hold.*"}).json()[
        "events"]
    assert [e["action"] for e in reversed(audit)] == [
        "retention.hold.create", "retention.hold.release"]
    assert audit[0]["targets"][0] == {"type": "legal_hold", "id": hold["id"],
                                      "name": "Dispute 4471"}


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("PUT", "policies/devices", {"keep_days": 30}, "category"),
    ("PUT", "policies/access", {"keep_days": 0}, "keep_days"),
    ("PUT", "policies/access", {"keep_days": 36_501}, "keep_days"),
    ("PUT", "policies/access", {"keep_days": "thirty"}, "keep_days"),
    ("PUT", "policies/access", {"keep_days": 1.5}, "keep_days"),
    ("PUT", "policies/access", {}, "body.keep_days"),
    ("PUT", "policies/access", {"keep_days": 30, "days": 30}, "body.days"),
    ("POST", "holds", {**HOLD, "name": ""}, "name"),
    ("POST", "holds", {**HOLD, "query": "target.id:acct-4471 last:90d"}, "query"),
    ("POST", "holds", {**HOLD, "query": "tag:dispute"}, "query"),
    ("POST", "holds", {**HOLD, "query": "severity:bogus"}, "query"),
    ("POST", "holds", {**HOLD, "query": ""}, "query"),
    ("POST", "holds", {**HOLD, "reason": ""}, "reason"),
    ("POST", "holds", {"name": "x", "query": "actor.id:u-1"}, "body.reason"),
])
def test_bad_input_is_named_and_nothing_is_stored(
        tb: Trailbook, tenant: Tenant, owner: TestClient, method: str, path: str,
        body: dict[str, Any], field: str) -> None:
    answer = owner.request(method, f"{URL}/{path}", json=body)
    assert answer.status_code in (400, 422), answer.text
    assert field in fields(answer), answer.text
    assert tb.store.retention_rules.policies(tenant.id) == []
    assert tb.store.retention_rules.holds(tenant.id) == []
    assert owner.get("/api/v1/events", params={"query": "action:retention.*"}).json()[
        "events"] == []


def test_only_retention_managers_reach_retention(tb: Trailbook, tenant: Tenant,
                                                 owner: TestClient) -> None:
    hold = owner.post(f"{URL}/holds", json=HOLD).json()
    add_user(tb, tenant, "aud@acme.example", "auditor")
    app = create_app(tb)
    with sign_in(app, "aud@acme.example") as auditor, TestClient(app) as key:
        key.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
        for http in (auditor, key):
            for method, path, body in (
                    ("GET", "policies", None), ("PUT", "policies/access", {"keep_days": 1}),
                    ("DELETE", "policies/access", None), ("GET", "holds", None),
                    ("POST", "holds", HOLD), ("GET", f"holds/{hold['id']}", None),
                    ("POST", f"holds/{hold['id']}/release", {"reason": "x"})):
                answer = http.request(method, f"{URL}/{path}", json=body)
                assert answer.status_code == 403, (method, path, answer.text)
    assert tb.store.retention_rules.policies(tenant.id) == []
    assert [h.active for h in tb.store.retention_rules.holds(tenant.id)] == [True]
    denied = owner.get("/api/v1/events", params={"query": "action:access.denied"}).json()
    assert any(e["metadata"].get("permission") == "retention.manage"
               for e in denied["events"])


def test_tenants_do_not_see_each_others_rules(tb: Trailbook, tenant: Tenant,
                                              owner: TestClient) -> None:
    hold = owner.post(f"{URL}/holds", json=HOLD).json()
    owner.put(f"{URL}/policies/access", json={"keep_days": 30})
    other = tb.tenants.create("globex")
    add_user(tb, other, "root@globex.example", "owner")
    with sign_in(create_app(tb), "root@globex.example") as stranger:
        assert stranger.get(f"{URL}/holds/{hold['id']}").status_code == 404
        assert stranger.post(f"{URL}/holds/{hold['id']}/release",
                             json={"reason": "x"}).status_code == 404
        assert stranger.get(f"{URL}/holds").json() == {"holds": []}
        assert stranger.get(f"{URL}/policies").json()["policies"] == []
        assert stranger.delete(f"{URL}/policies/access").status_code == 404
    assert owner.get(f"{URL}/holds/{hold['id']}").json()["active"] is True


def test_runs_are_listed_and_started_by_retention_managers_only(
        tb: Trailbook, tenant: Tenant, owner: TestClient) -> None:
    assert owner.get(f"{URL}/runs").json() == {"runs": []}
    ran = owner.post(f"{URL}/runs")
    assert ran.status_code == 200, ran.text
    report = ran.json()
    assert (report["tenant"], report["ok"], report["purged"]) == ("acme", True, 0)
    add_user(tb, tenant, "aud@acme.example", "auditor")
    with sign_in(create_app(tb), "aud@acme.example") as auditor:
        assert auditor.get(f"{URL}/runs").status_code == 403
        assert auditor.post(f"{URL}/runs").status_code == 403


def test_a_run_by_staff_purges_and_is_recorded_as_theirs(
        tb: Trailbook, tenant: Tenant, owner: TestClient) -> None:
    from service.retention_trail import event_at, ingest

    ingest(tb, tenant, [event_at("device", 400, n) for n in range(60)])
    tb.checkpoints.checkpoint_pending()
    assert owner.put(f"{URL}/policies/device", json={"keep_days": 365}).status_code == 200

    ran = owner.post(f"{URL}/runs")

    assert ran.status_code == 200, ran.text
    report = ran.json()
    assert report["purged"] == 60 and len(report["purges"]) == 1
    runs = owner.get(f"{URL}/runs").json()["runs"]
    assert [r["id"] for r in runs] == [report["purges"][0]["id"]]
    assert runs[0]["events"] == 60 and runs[0]["archive"].endswith(".ndjson.gz")
    verified = owner.get("/api/v1/verify").json()
    assert verified["ok"] is True and verified["events_purged"] == 60
    found = owner.get("/api/v1/events", params={"query": "action:system.retention.run"})
    [event] = found.json()["events"]
    assert event["actor"]["email"] == "olga@acme.example"
