"""Staff of one tenant see nothing of another: not by id, filter, cursor or count, and
not its users, roles, keys or sessions (whose ids answer 404, not 403). Within a
tenant, a role reads only its categories and, without personal_data, masked events."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

SECRET_EVENT = minimal_event(
    action="miner.reboot", category="device", description="secret reboot of rack B4",
    actor={"id": "u-alice", "email": "alice@example.com"}, source={"ip": "10.9.8.7"},
    targets=[{"id": "rig-1", "name": "Rig One", "type": "miner"}],
    metadata={"contact": "bob@example.net", "gateway": "2001:db8:85a3::8a2e:370:7334"})


@pytest.fixture
def two_tenants(tb: Trailbook, tenant: Tenant) -> dict[str, Any]:
    beta = tb.tenants.create("beta")
    add_user(tb, tenant, "owner@acme.example", "owner")
    add_user(tb, beta, "owner@beta.example", "owner")
    app = create_app(tb)
    with TestClient(app) as http:
        http.headers["Authorization"] = f"Bearer {setup_key(tb, beta)}"
        posted = http.post("/api/v1/events", json=[SECRET_EVENT] * 3)
        assert posted.status_code == 201
        beta_http = sign_in(app, "owner@beta.example")
        beta_ids = {
            "event": posted.json()["events"][0]["id"],
            "user": beta_http.get("/api/v1/users").json()["users"][0]["id"],
            "session": beta_http.get("/api/v1/auth/me").json()["session"]["id"],
            "key": beta_http.post("/api/v1/api-keys", json={
                "name": "k", "scopes": ["read"]}).json()["id"],
            "cursor": beta_http.get("/api/v1/events", params={"limit": 1}
                                    ).json()["next_cursor"],
        }
        assert beta_http.post("/api/v1/roles", json={
            "name": "beta-only", "permissions": ["events.read"],
            "categories": ["device"]}).status_code == 201
        yield {"app": app, "beta": beta_ids}


def test_a_user_of_one_tenant_sees_nothing_of_another(two_tenants: dict[str, Any]) -> None:
    acme = sign_in(two_tenants["app"], "owner@acme.example")
    beta = two_tenants["beta"]

    for method, path, body in (
        ("GET", f"/api/v1/events/{beta['event']}", None),
        ("GET", f"/api/v1/users/{beta['user']}", None),
        ("PATCH", f"/api/v1/users/{beta['user']}", {"disabled": True}),
        ("POST", f"/api/v1/users/{beta['user']}/reset-password", None),
        ("DELETE", f"/api/v1/sessions/{beta['session']}", None),
        ("DELETE", f"/api/v1/api-keys/{beta['key']}", None),
        ("PATCH", "/api/v1/roles/beta-only", {"categories": ["*"]}),
        ("DELETE", "/api/v1/roles/beta-only", None),
        ("GET", f"/api/v1/events/{beta['event']}/annotations", None),
        ("POST", f"/api/v1/events/{beta['event']}/comments", {"text": "seen"}),
        ("POST", f"/api/v1/events/{beta['event']}/tags", {"tag": "seen"}),
    ):
        answer = acme.request(method, path, json=body)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"

    for params in ({}, {"q": "secret"}, {"action": "miner.reboot"}, {"actor": "alice"},
                   {"ip": "10.0.0.0/8"}, {"target": "rig-1"}, {"category": "device"},
                   {"cursor": beta["cursor"]}, {"query": "action:miner.* rack"}):
        found = acme.get("/api/v1/events", params=params).json()["events"]
        assert all(e["tenant"] == "acme" for e in found), params
        assert not [e for e in found if e["action"] == "miner.reboot"], params
    exported = acme.get("/api/v1/events/export.csv", params={"action": "miner.reboot"})
    assert exported.status_code == 200 and exported.text.count("\n") == 1  # the header
    assert "secret reboot" not in acme.get("/api/v1/events/export.csv").text
    # the console's pages answer the same way
    assert acme.get(f"/events/{beta['event']}").status_code == 404
    assert "secret reboot" not in acme.get("/logs", params={"query": "secret"}).text
    counted = acme.get("/api/v1/facets", params={"action": "miner.reboot"}).json()
    assert counted["total"]["count"] == 0
    assert acme.get("/api/v1/verify").json()["tenant"] == "acme"
    assert {u["email"] for u in acme.get("/api/v1/users").json()["users"]} == {
        "owner@acme.example"}
    assert "beta-only" not in {r["name"] for r in acme.get("/api/v1/roles").json()["roles"]}
    # Beta's session still lives: nothing above reached it.
    assert beta["session"] not in {s["id"] for s in acme.get(
        "/api/v1/sessions", params={"all": "true"}).json()["sessions"]}


def test_a_role_reads_only_its_categories(tb: Trailbook, tenant: Tenant) -> None:
    add_user(tb, tenant, "owner@acme.example", "owner")
    app = create_app(tb)
    with TestClient(app) as http:
        http.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
        ids = {c: http.post("/api/v1/events", json=minimal_event(
            category=c, action=f"{c}.thing")).json()["events"][0]["id"]
            for c in ("device", "client", "task")}
        owner = sign_in(app, "owner@acme.example")
        assert owner.post("/api/v1/roles", json={
            "name": "devices", "permissions": ["events.read", "personal_data"],
            "categories": ["device", "task"]}).status_code == 201
        add_user(tb, tenant, "tech@acme.example", "devices")
        tech = sign_in(app, "tech@acme.example")

        seen = {e["category"] for e in tech.get("/api/v1/events").json()["events"]}
        assert seen == {"device", "task"}
        assert tech.get("/api/v1/events", params={"category": "client"}).json()[
            "events"] == []
        assert tech.get(f"/api/v1/events/{ids['client']}").status_code == 404
        assert tech.get(f"/api/v1/events/{ids['device']}").status_code == 200
        facets = tech.get("/api/v1/facets", params={"fields": "category"}).json()
        assert {v["value"] for v in facets["facets"]["category"]["values"]} == {
            "device", "task"}
        assert facets["total"]["count"] == 2


def test_a_viewer_sees_personal_data_masked(tb: Trailbook, tenant: Tenant) -> None:
    add_user(tb, tenant, "viewer@acme.example", "viewer")
    add_user(tb, tenant, "auditor@acme.example", "auditor")
    app = create_app(tb)
    with TestClient(app) as http:
        http.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
        event_id = http.post("/api/v1/events", json=SECRET_EVENT).json()["events"][0]["id"]
        viewer = sign_in(app, "viewer@acme.example")
        auditor = sign_in(app, "auditor@acme.example")

        shown = viewer.get(f"/api/v1/events/{event_id}").json()
        assert shown["masked"] is True
        assert shown["actor"]["email"] == "a***@example.com"
        assert shown["source"]["ip"] == "10.9.8.x"
        assert shown["metadata"] == {"contact": "b***@example.net",
                                     "gateway": "2001:db8:85a3:x:x:x:x:x"}
        assert shown["id"] == event_id and shown["action"] == "miner.reboot"
        listed = viewer.get("/api/v1/events", params={"action": "miner.reboot"}).json()
        assert listed["events"] == [shown]
        ips = viewer.get("/api/v1/facets", params={
            "fields": "ip,actor", "action": "miner.reboot"}).json()["facets"]
        assert ips["ip"]["values"] == [{"value": "10.9.8.x", "count": 1}]
        # Searching by personal data would reveal it: refused, and audited.
        for params in ({"actor_email": "alice@example.com"}, {"ip": "10.9.8.7"},
                       {"query": "-ip:10.0.0.0/8"}):
            refused = viewer.get("/api/v1/events", params=params)
            assert refused.status_code == 403, params

        whole = auditor.get(f"/api/v1/events/{event_id}").json()
        assert "masked" not in whole
        assert whole["actor"]["email"] == "alice@example.com"
        assert whole["source"]["ip"] == "10.9.8.7"
