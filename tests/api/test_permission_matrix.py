"""Every built-in role against every API endpoint: what a role may do succeeds, the
rest is refused with 403, changes nothing, and is itself audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.errors import ValidationFailed
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant


@dataclass
class World:
    tb: Trailbook
    app: FastAPI
    tenant: Tenant
    event_id: str  # an event in category "general", which every role reads
    bystander_id: int  # a viewer that the user-management calls act on
    bystander_session: str
    key_id: int  # an API key for the revoke call
    counter: int = 0
    caller: str = ""  # the email of the user making the calls (whose saved searches)

    def unique(self) -> int:
        self.counter += 1
        return self.counter


Call = Callable[[World], tuple[str, str, dict[str, Any] | None]]

# name -> what the call is. Mutating calls make what they act on first, so a call that
# is allowed still has something to act on the next time.
ENDPOINTS: dict[str, Call] = {
    "search": lambda w: ("GET", "/api/v1/events", None),
    "view event": lambda w: ("GET", f"/api/v1/events/{w.event_id}", None),
    "facets": lambda w: ("GET", "/api/v1/facets", None),
    "export csv": lambda w: ("GET", "/api/v1/events/export.csv", None),
    "export": lambda w: ("GET", "/api/v1/exports?format=ndjson", None),
    "export manifest": lambda w: ("GET", f"/api/v1/exports/{finished_export(w)}/manifest",
                                  None),
    "verify": lambda w: ("GET", "/api/v1/verify", None),
    "checkpoints": lambda w: ("GET", "/api/v1/checkpoints", None),
    "inclusion proof": lambda w: ("GET", f"/api/v1/events/{w.event_id}/proof", None),
    "consistency proof": lambda w: (
        "GET", "/api/v1/checkpoints/consistency?from={0}&to={0}".format(
            w.tb.store.list_checkpoints(w.tenant.id)[0].seq), None),
    "ingest": lambda w: ("POST", "/api/v1/events", minimal_event()),
    "list users": lambda w: ("GET", "/api/v1/users", None),
    "add user": lambda w: ("POST", "/api/v1/users",
                           {"email": f"new{w.unique()}@acme.example", "role": "viewer"}),
    "read user": lambda w: ("GET", f"/api/v1/users/{w.bystander_id}", None),
    "change user": lambda w: ("PATCH", f"/api/v1/users/{w.bystander_id}",
                              {"name": f"Renamed {w.unique()}"}),
    "reset password": lambda w: ("POST", f"/api/v1/users/{w.bystander_id}/reset-password",
                                 None),
    "list roles": lambda w: ("GET", "/api/v1/roles", None),
    "create role": lambda w: ("POST", "/api/v1/roles",
                              {"name": f"made-{w.unique()}", "permissions": ["events.read"],
                               "categories": ["general"]}),
    "change role": lambda w: ("PATCH", "/api/v1/roles/spare",
                              {"categories": ["general", "device"][: 1 + w.unique() % 2]}),
    "delete role": lambda w: ("DELETE", f"/api/v1/roles/{doomed_role(w)}", None),
    "list keys": lambda w: ("GET", "/api/v1/api-keys", None),
    "create key": lambda w: ("POST", "/api/v1/api-keys",
                             {"name": f"key {w.unique()}", "scopes": ["ingest"]}),
    "revoke key": lambda w: ("DELETE", f"/api/v1/api-keys/{fresh_key(w)}", None),
    "all sessions": lambda w: ("GET", "/api/v1/sessions?all=true", None),
    "end another's session": lambda w: ("DELETE",
                                        f"/api/v1/sessions/{fresh_session(w)}", None),
    "own sessions": lambda w: ("GET", "/api/v1/sessions", None),
    "me": lambda w: ("GET", "/api/v1/auth/me", None),
    "permissions": lambda w: ("GET", "/api/v1/permissions", None),
    "list annotations": lambda w: ("GET", f"/api/v1/events/{w.event_id}/annotations", None),
    "comment": lambda w: ("POST", f"/api/v1/events/{w.event_id}/comments",
                          {"text": f"note {w.unique()}"}),
    "tag": lambda w: ("POST", f"/api/v1/events/{w.event_id}/tags", {"tag": f"t{w.unique()}"}),
    "list saved searches": lambda w: ("GET", "/api/v1/saved-searches", None),
    "save search": lambda w: ("POST", "/api/v1/saved-searches",
                              {"name": f"saved {w.unique()}", "query": "result:failure"}),
    "read saved search": lambda w: ("GET", f"/api/v1/saved-searches/{own_saved(w)}", None),
    "change saved search": lambda w: ("PATCH", f"/api/v1/saved-searches/{own_saved(w)}",
                                      {"name": f"renamed {w.unique()}"}),
    "delete saved search": lambda w: ("DELETE", f"/api/v1/saved-searches/{own_saved(w)}",
                                      None),
}

READ = {"search", "view event", "facets", "own sessions", "me", "permissions",
        "list annotations", "list saved searches", "save search", "read saved search",
        "change saved search", "delete saved search"}
ANNOTATE = {"comment", "tag"}
VERIFY = {"verify", "checkpoints", "inclusion proof", "consistency proof"}
EXPORT = {"export csv", "export", "export manifest"}
MANAGE = {"list users", "add user", "read user", "change user", "reset password",
          "list roles", "create role", "change role", "delete role", "list keys",
          "create key", "revoke key", "all sessions", "end another's session"}
# The expected matrix, written out rather than derived from the code's role table.
ALLOWED: dict[str, set[str]] = {
    "owner": READ | VERIFY | EXPORT | MANAGE | ANNOTATE,
    "admin": READ | VERIFY | EXPORT | MANAGE | ANNOTATE,
    "auditor": READ | VERIFY | EXPORT,
    "analyst": READ | ANNOTATE,
    "viewer": set(READ),
}
assert all(names <= set(ENDPOINTS) for names in ALLOWED.values())


def doomed_role(w: World) -> str:
    name = f"doomed-{w.unique()}"
    w.tb.store.accounts.add_role(w.tenant.id, name, ("events.read",), ("general",), "x")
    return name


def fresh_key(w: World) -> int:
    setup_key(w.tb, w.tenant, ("ingest",), name=f"to revoke {w.unique()}")
    return max(k.id for k in w.tb.keys.for_tenant(w.tenant))


def finished_export(w: World) -> str:
    """The id of an export of the tenant that has ended, so its manifest is ready."""
    export = w.tb.exports.start_local(w.tenant, _newest(), "json")
    b"".join(export.chunks)
    return export.id


def fresh_session(w: World) -> str:
    http = sign_in(w.app, "colleague@acme.example")
    return str(http.get("/api/v1/auth/me").json()["session"]["id"])


def own_saved(w: World) -> int:
    """A saved search of the calling user, to read, change or delete."""
    user = w.tb.users.by_email(w.tenant, w.caller)
    made = w.tb.store.saved_searches.add(w.tenant.id, user.id, f"own {w.unique()}", "", {},
                                         "x", 200)
    assert made is not None
    return made.id


def snapshot(w: World) -> tuple[Any, ...]:
    """Everything a refused call must leave alone (the trail is checked apart)."""
    accounts = w.tb.store.accounts
    return (
        accounts.list_users(w.tenant.id), accounts.list_roles(w.tenant.id),
        w.tb.store.accounts.list_api_keys(w.tenant.id),
        [(s.id, s.revoked_us) for s in accounts.live_sessions(w.tenant.id, None, 0, 2**62)],
        w.tb.store.annotations.for_event(w.tenant.id,
                                         w.tb.events.get(w.tenant, w.event_id).pos),
        w.tb.store.saved_searches.for_tenant(w.tenant.id),
    )


def head(w: World) -> int:
    found = w.tb.store.chain_head(w.tenant.id)
    return found.seq if found else 0


@pytest.fixture
def world(tb: Trailbook, tenant: Tenant) -> Iterator[World]:
    add_user(tb, tenant, "owner@acme.example", "owner")
    bystander = add_user(tb, tenant, "bystander@acme.example", "viewer")
    add_user(tb, tenant, "colleague@acme.example", "viewer")  # whose sessions are ended
    tb.store.accounts.add_role(tenant.id, "spare", ("events.read",), ("general",), "x")
    key = setup_key(tb, tenant)
    with TestClient(create_app(tb)) as http:
        http.headers["Authorization"] = f"Bearer {key}"
        posted = http.post("/api/v1/events", json=minimal_event(category="general"))
        event_id = posted.json()["events"][0]["id"]
        tb.checkpoints.checkpoint_pending()  # a signed tree for the proofs to point at
        world = World(tb, http.app, tenant, event_id, bystander.id, "", 0)  # type: ignore[arg-type]
        world.bystander_session = fresh_session(world)
        world.key_id = fresh_key(world)
        yield world


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_gets_exactly_its_endpoints(world: World, role: str) -> None:
    add_user(world.tb, world.tenant, f"{role}-user@acme.example", role)
    world.caller = f"{role}-user@acme.example"
    http = sign_in(world.app, f"{role}-user@acme.example")
    outcomes: dict[str, int] = {}
    for name, make in ENDPOINTS.items():
        method, path, body = make(world)
        before, seq = snapshot(world), head(world)
        answer = http.request(method, path, json=body)
        outcomes[name] = answer.status_code
        if name in ALLOWED[role]:
            assert answer.status_code in (200, 201, 204), (role, name, answer.text)
            continue
        assert answer.status_code == 403, (role, name, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and error["details"], error
        # Nothing changed but the audit of the refusal, which names the caller.
        assert snapshot(world) == before, (role, name)
        assert head(world) == seq + 1, (role, name)
        [denied] = world.tb.events.search(world.tenant, _newest(), None, 1).events
        doc = _doc(denied.doc)
        assert (doc["category"], doc["action"], doc["result"]) == (
            "access", "access.denied", "failure")
        assert doc["actor"]["email"] == f"{role}-user@acme.example"
        assert doc["metadata"]["path"] == path.partition("?")[0]
    allowed = {n for n, status in outcomes.items() if status != 403}
    assert allowed == ALLOWED[role]


def test_an_admin_cannot_touch_owners_but_an_owner_can(world: World) -> None:
    owner = world.tb.users.by_email(world.tenant, "owner@acme.example")
    add_user(world.tb, world.tenant, "admin-user@acme.example", "admin")
    admin = sign_in(world.app, "admin-user@acme.example")
    before = snapshot(world)
    for method, path, body in (
        ("POST", "/api/v1/users", {"email": "second-owner@acme.example", "role": "owner"}),
        ("PATCH", f"/api/v1/users/{owner.id}", {"disabled": True}),
        ("PATCH", f"/api/v1/users/{owner.id}", {"role": "viewer"}),
        ("POST", f"/api/v1/users/{owner.id}/reset-password", None),
        ("PATCH", f"/api/v1/users/{world.bystander_id}", {"role": "owner"}),
    ):
        answer = admin.request(method, path, json=body)
        assert answer.status_code == 403, (path, body, answer.text)
    assert snapshot(world) == before

    owner_http = sign_in(world.app, "owner@acme.example")
    made = owner_http.post("/api/v1/users", json={"email": "second-owner@acme.example",
                                                  "role": "owner"})
    assert made.status_code == 201, made.text
    # But the last active owner cannot be demoted, by anyone.
    second = made.json()["id"]
    assert owner_http.patch(f"/api/v1/users/{second}", json={"role": "viewer"}
                            ).status_code == 200
    own = owner_http.patch(f"/api/v1/users/{owner.id}", json={"role": "admin"})
    assert own.status_code == 403, own.text  # no one changes their own role
    with pytest.raises(ValidationFailed) as last:  # not even from the command line
        world.tb.users.update(world.tenant, owner.id, role="admin", by=None, context=CLI)
    assert last.value.details[0].field == "role"


def _newest() -> Any:
    from trailbook.query.filters import EventFilter

    return EventFilter()


def _doc(raw: bytes) -> dict[str, Any]:
    import orjson

    return dict(orjson.loads(raw))


def test_no_one_hands_out_more_than_they_hold(world: World) -> None:
    accounts = world.tb.store.accounts
    accounts.add_role(world.tenant.id, "people", ("users.manage", "events.read"), ("*",), "x")
    accounts.add_role(world.tenant.id, "role-keeper", ("roles.manage", "events.read"),
                      ("general",), "x")
    hr = add_user(world.tb, world.tenant, "hr@acme.example", "people")
    add_user(world.tb, world.tenant, "keeper@acme.example", "role-keeper")
    hr_http = sign_in(world.app, "hr@acme.example")
    keeper = sign_in(world.app, "keeper@acme.example")
    before = snapshot(world)
    refused = [
        hr_http.patch(f"/api/v1/users/{hr.id}", json={"role": "admin"}),
        hr_http.post("/api/v1/users", json={"email": "x@acme.example", "role": "admin"}),
        hr_http.patch(f"/api/v1/users/{world.bystander_id}", json={"role": "auditor"}),
        keeper.patch("/api/v1/roles/role-keeper", json={"categories": ["*"]}),
        keeper.post("/api/v1/roles", json={"name": "wider", "permissions": ["events.read"],
                                           "categories": ["*"]}),
        keeper.post("/api/v1/roles", json={"name": "keys", "permissions": ["keys.manage"],
                                           "categories": []}),
    ]
    assert [a.status_code for a in refused] == [403] * len(refused), [a.text for a in refused]
    assert snapshot(world) == before
    # Within their own rights they may act.
    assert hr_http.post("/api/v1/users", json={"email": "y@acme.example", "role": "viewer"}
                        ).status_code == 201
    assert keeper.post("/api/v1/roles", json={"name": "narrow", "permissions": [
        "events.read"], "categories": ["general"]}).status_code == 201


def test_an_admin_cannot_rename_an_owner_or_end_their_session(world: World) -> None:
    owner = world.tb.users.by_email(world.tenant, "owner@acme.example")
    owner_session = sign_in(world.app, "owner@acme.example").get(
        "/api/v1/auth/me").json()["session"]["id"]
    add_user(world.tb, world.tenant, "admin-user@acme.example", "admin")
    admin = sign_in(world.app, "admin-user@acme.example")
    before = snapshot(world)
    assert admin.patch(f"/api/v1/users/{owner.id}", json={"name": "Mallory"}
                       ).status_code == 403
    assert admin.delete(f"/api/v1/sessions/{owner_session}").status_code == 403
    assert snapshot(world) == before
