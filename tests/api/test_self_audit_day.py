"""A scripted day of staff activity: afterwards the tenant's ``access`` and ``admin``
categories hold exactly the expected events, in order, chained and verifying."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from staff_helpers import PASSWORD, add_user, sign_in
from trailbook.api.app import create_app
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

OWNER = "olga@acme.example"
ANALYST = "ana@acme.example"


def test_a_day_of_staff_work_is_audited_exactly(tb: Trailbook, tenant: Tenant) -> None:
    add_user(tb, tenant, OWNER, "owner")  # 08:00, from the server's command line
    machine = setup_key(tb, tenant, ("ingest", "read"))
    app = create_app(tb)
    with TestClient(app) as ops:
        ops.headers["Authorization"] = f"Bearer {machine}"
        # The back office's own events all day long (not Trailbook's: not audited).
        posted = ops.post("/api/v1/events", json=[
            minimal_event(action="miner.reboot", category="device",
                          targets=[{"id": "rig-7", "type": "miner"}]),
            minimal_event(action="client.plan.change", category="client")])
        assert posted.status_code == 201
        rig_event = posted.json()["events"][0]["id"]

        olga = sign_in(app, OWNER)
        made = olga.post("/api/v1/users", json={"email": ANALYST, "name": "Ana",
                                                "role": "analyst", "password": PASSWORD})
        assert made.status_code == 201
        key = olga.post("/api/v1/api-keys", json={"name": "billing export",
                                                  "scopes": ["read"]})
        assert key.status_code == 201

        bad = TestClient(app).post("/api/v1/auth/login",
                                   json={"email": ANALYST, "password": "typo typo typo"})
        assert bad.status_code == 401
        ana = sign_in(app, ANALYST)
        found = ana.get("/api/v1/events", params={"query": "action:miner.*"})
        assert [e["id"] for e in found.json()["events"]] == [rig_event]
        assert ana.get(f"/api/v1/events/{rig_event}").status_code == 200
        assert ana.get("/api/v1/users").status_code == 403
        # Her role reads no admin events: not even their count shows.
        summary = ana.get("/api/v1/facets", params={"category": "admin"}).json()
        assert summary["total"] == {"count": 0, "exact": True}

        ana_id = made.json()["id"]
        assert olga.patch(f"/api/v1/users/{ana_id}", json={"role": "viewer"}
                          ).status_code == 200
        assert ana.get("/api/v1/auth/me").status_code == 401  # a new role: sign in again
        assert olga.post("/api/v1/roles", json={
            "name": "night-shift", "permissions": ["events.read"],
            "categories": ["device"]}).status_code == 201
        assert olga.delete(f"/api/v1/api-keys/{key.json()['id']}").status_code == 204
        assert olga.post("/api/v1/auth/logout").status_code == 204

    staff = tb.events.search(tenant, EventFilter(categories=("access", "admin")), None,
                             500).events
    got = [_summary(orjson.loads(e.doc)) for e in reversed(staff)]
    assert got == [
        ("admin", "user.create", "cli", "success", OWNER),
        ("access", "auth.login", OWNER, "success", OWNER),
        ("admin", "user.create", OWNER, "success", ANALYST),
        ("admin", "api_key.create", OWNER, "success", "billing export"),
        ("access", "auth.login_failed", ANALYST, "failure", ANALYST),
        ("access", "auth.login", ANALYST, "success", ANALYST),
        ("access", "search.run", ANALYST, "success", None),
        ("access", "event.view", ANALYST, "success", rig_event),
        ("access", "access.denied", ANALYST, "failure", None),
        ("access", "search.facets", ANALYST, "success", None),
        ("admin", "user.update", OWNER, "success", ANALYST),
        ("admin", "role.create", OWNER, "success", "night-shift"),
        ("admin", "api_key.revoke", OWNER, "success", "billing export"),
        ("access", "auth.logout", OWNER, "success", OWNER),
    ]
    docs = [orjson.loads(e.doc) for e in reversed(staff)]
    # What was asked is kept with each search; old and new values with each change.
    assert docs[6]["metadata"]["query"] == "action:miner.*"
    assert docs[6]["metadata"]["results"] == 1
    assert docs[10]["changes"] == [{"field": "role", "old": "analyst", "new": "viewer"}]
    assert {"field": "password", "old": None, "new": "[redacted]"} in docs[2]["changes"]
    assert all(d["session_id"] for d in docs[1:4] + docs[5:])
    report = tb.integrity.verify(tenant)
    assert report.ok and report.last_seq == 2 + len(staff)


def _summary(doc: dict[str, Any]) -> tuple[Any, ...]:
    actor = doc["actor"].get("email") or doc["actor"]["id"]
    target = doc["targets"][0] if doc.get("targets") else None
    named = None
    if target is not None:
        named = target.get("name") if target["type"] != "event" else target["id"]
        if target["type"] == "api_key":
            named = target["name"].split(" (")[0]
    return doc["category"], doc["action"], actor, doc["result"], named
