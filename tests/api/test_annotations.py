"""Comments and tags on events through the API, on both backends: adding, listing,
a repeated tag, bad input, who may (staff with events.annotate) and who may not,
events out of reach (another tenant's, another category's), the audit of every
addition, masking, and searching by tag."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant


@dataclass
class World:
    tb: Trailbook
    app: FastAPI
    tenant: Tenant
    key: TestClient  # an ingest + read API key of acme
    device: str  # an event in "device", which analysts read
    other_device: str
    access: str  # an event in "access", which analysts do not read
    beta: str  # an event of another tenant


def comments(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/comments"


def tags(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/tags"


def annotations(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/annotations"


@pytest.fixture
def world(tb: Trailbook, tenant: Tenant) -> Iterator[World]:
    beta = tb.tenants.create("beta")
    for email, role in (("ana@acme.example", "analyst"), ("olga@acme.example", "owner"),
                        ("vic@acme.example", "viewer"), ("aud@acme.example", "auditor")):
        add_user(tb, tenant, email, role)
    add_user(tb, beta, "owner@beta.example", "owner")
    app = create_app(tb)
    with TestClient(app) as key:
        key.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
        posted = key.post("/api/v1/events", json=[
            minimal_event(category="device", action="miner.reboot"),
            minimal_event(category="device", action="miner.pool.change"),
            minimal_event(category="access", action="user.login")])
        assert posted.status_code == 201, posted.text
        ids = [e["id"] for e in posted.json()["events"]]
        theirs = key.post("/api/v1/events", json=minimal_event(category="device"),
                          headers={"Authorization": f"Bearer {setup_key(tb, beta)}"})
        yield World(tb, app, tenant, key, ids[0], ids[1], ids[2],
                    theirs.json()["events"][0]["id"])


def head(w: World) -> int:
    found = w.tb.store.chain_head(w.tenant.id)
    return found.seq if found else 0


def audit_events(w: World, action: str) -> list[dict[str, Any]]:
    found = w.tb.events.search(w.tenant, EventFilter(categories=("admin",),
                                                     actions=(action,))).events
    return [orjson.loads(e.doc) for e in reversed(found)]  # oldest first


# -- adding and listing ---------------------------------------------------------------


def test_an_analyst_comments_and_tags_and_everyone_reads_them(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    ana_id = world.tb.users.by_email(world.tenant, "ana@acme.example").id
    first = ana.post(comments(world.device), json={"text": "  Planned reboot, see #42.\n"})
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["text"] == "Planned reboot, see #42."
    assert made["author"] == {"id": ana_id, "email": "ana@acme.example", "name": "ana"}
    assert made["created_at"].endswith("Z") and len(made["created_at"]) == 27
    second = ana.post(comments(world.device), json={"text": "Confirmed by the farm."})
    tagged = ana.post(tags(world.device), json={"tag": " Incident:42 "})
    assert (second.status_code, tagged.status_code) == (201, 201)
    assert tagged.json()["tag"] == "incident:42"
    assert set(tagged.json()) == {"id", "tag", "author", "created_at"}

    for reader in (ana, sign_in(world.app, "olga@acme.example"), world.key):
        listed = reader.get(annotations(world.device))
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert [c["text"] for c in body["comments"]] == ["Planned reboot, see #42.",
                                                         "Confirmed by the farm."]
        assert body["comments"][0] == made
        assert body["tags"] == [tagged.json()]
        assert "masked" not in body
    # The event itself is untouched, and other events have nothing.
    assert world.key.get(annotations(world.other_device)).json() == {"comments": [],
                                                                     "tags": []}
    assert world.tb.integrity.verify(world.tenant).ok


def test_a_repeated_tag_answers_the_stored_one_with_200(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    olga = sign_in(world.app, "olga@acme.example")
    first = ana.post(tags(world.device), json={"tag": "vip"})
    assert first.status_code == 201
    seq = head(world)
    again = olga.post(tags(world.device), json={"tag": "VIP"})
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the stored one: ana's, not olga's
    assert head(world) == seq  # nothing stored, nothing audited
    assert len(world.key.get(annotations(world.device)).json()["tags"]) == 1
    # The same tag on another event is a new one.
    assert olga.post(tags(world.other_device), json={"tag": "vip"}).status_code == 201


@pytest.mark.parametrize(("path", "body", "field"), [
    (comments, {"text": "   \n "}, "text"),
    (comments, {"text": "x" * 4001}, "text"),
    (comments, {"text": "bell \x07 character"}, "text"),
    (tags, {"tag": "two words"}, "tag"),
    (tags, {"tag": "-leading-dash"}, "tag"),
    (tags, {"tag": "t" * 65}, "tag"),
    (tags, {"tag": ""}, "tag"),
    (tags, {"tag": "café"}, "tag"),
])
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
        world: World, path: Any, body: dict[str, str], field: str) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    seq = head(world)
    answer = ana.post(path(world.device), json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"][0]["field"] == field
    assert head(world) == seq
    assert world.key.get(annotations(world.device)).json() == {"comments": [], "tags": []}


def test_the_longest_comment_and_tag_are_accepted(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    text = "é" * 4000
    assert ana.post(comments(world.device), json={"text": f" {text} "}).json()["text"] == text
    assert ana.post(tags(world.device), json={"tag": "a" + "._:-9" * 12 + "bc"}
                    ).status_code == 201


def test_a_body_of_the_wrong_shape_is_a_422(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    assert ana.post(comments(world.device), json={"comment": "hi"}).status_code == 422
    assert ana.post(tags(world.device), json={"tag": ["a", "b"]}).status_code == 422


# -- who may --------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["vic@acme.example", "aud@acme.example"])
def test_viewers_and_auditors_read_but_may_not_annotate(world: World, email: str) -> None:
    http = sign_in(world.app, email)
    for path, body in ((comments, {"text": "hello"}), (tags, {"tag": "vip"})):
        answer = http.post(path(world.device), json=body)
        assert answer.status_code == 403, answer.text
        assert "events.annotate" in answer.text
    assert http.get(annotations(world.device)).status_code == 200
    assert world.key.get(annotations(world.device)).json() == {"comments": [], "tags": []}


def test_an_api_key_may_read_but_not_annotate(world: World) -> None:
    for path, body in ((comments, {"text": "hello"}), (tags, {"tag": "vip"})):
        answer = world.key.post(path(world.device), json=body)
        assert answer.status_code == 403, answer.text
        assert "sign in as a staff user" in answer.json()["error"]["message"]
    assert world.key.get(annotations(world.device)).status_code == 200


def test_a_session_needs_its_csrf_token_to_annotate(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    del ana.headers["X-CSRF-Token"]
    answer = ana.post(comments(world.device), json={"text": "hello"})
    assert answer.status_code == 403
    assert answer.json()["error"]["details"][0]["field"] == "X-CSRF-Token"


def test_events_out_of_reach_are_not_found(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")  # analysts do not read "access"
    olga = sign_in(world.app, "olga@acme.example")
    for http, event_id in ((ana, world.access), (ana, world.beta), (olga, world.beta),
                           (olga, "0190f3a1-0000-7000-8000-000000000000"),
                           (olga, "not-an-id")):
        for method, path, body in (("GET", annotations, None),
                                   ("POST", comments, {"text": "hi"}),
                                   ("POST", tags, {"tag": "vip"})):
            answer = http.request(method, path(event_id), json=body)
            assert answer.status_code == 404, (event_id, method, answer.text)
            assert answer.json()["error"]["code"] == "not_found"
    # The owner reads (and annotates) the access event.
    assert olga.post(tags(world.access), json={"tag": "checked"}).status_code == 201
    assert ana.get(annotations(world.access)).status_code == 404


def test_a_custom_role_annotates_only_its_categories(world: World) -> None:
    world.tb.store.accounts.add_role(world.tenant.id, "device-notes",
                                     ("events.read", "events.annotate"), ("device",), "x")
    add_user(world.tb, world.tenant, "dee@acme.example", "device-notes")
    dee = sign_in(world.app, "dee@acme.example")
    assert dee.post(tags(world.device), json={"tag": "vip"}).status_code == 201
    assert dee.post(tags(world.access), json={"tag": "vip"}).status_code == 404


# -- audit and masking ----------------------------------------------------------------


def test_every_addition_is_audited_in_admin(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    session = ana.get("/api/v1/auth/me").json()["session"]["id"]
    comment = ana.post(comments(world.device), json={"text": "Rebooted on purpose."},
                       headers={"X-Request-ID": "req-77"}).json()
    tag = ana.post(tags(world.device), json={"tag": "planned"}).json()
    ana.post(tags(world.device), json={"tag": "planned"})  # a repeat: not audited
    [commented] = audit_events(world, "event.comment")
    [tagged] = audit_events(world, "event.tag")
    for doc, annotation in ((commented, comment), (tagged, tag)):
        assert doc["category"] == "admin"
        assert doc["action_type"] == "create"
        assert doc["actor"]["email"] == "ana@acme.example"
        assert doc["actor"]["type"] == "user"
        assert doc["targets"] == [{"type": "event", "id": world.device, "name": None}]
        assert doc["session_id"] == session
        assert doc["metadata"]["annotation_id"] == annotation["id"]
    assert commented["metadata"]["text"] == "Rebooted on purpose."
    assert commented["request_id"] == "req-77"
    assert tagged["metadata"]["tag"] == "planned"


def test_without_personal_data_authors_and_texts_are_masked(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    ana.post(comments(world.device), json={"text": "Asked bob@example.net from 10.1.2.3"})
    ana.post(tags(world.device), json={"tag": "vip"})
    body = sign_in(world.app, "vic@acme.example").get(annotations(world.device)).json()
    assert body["masked"] is True
    assert body["comments"][0]["text"] == "Asked b***@example.net from 10.1.2.x"
    assert body["comments"][0]["author"]["email"] == "a***@acme.example"
    assert body["tags"][0]["author"]["email"] == "a***@acme.example"
    assert body["tags"][0]["tag"] == "vip"


# -- searching by tag -----------------------------------------------------------------


def _ids(http: TestClient, path: str = "/api/v1/events", **params: Any) -> list[str]:
    answer = http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return [e["id"] for e in answer.json()["events"]]


def test_tag_search_by_query_and_by_parameter(world: World) -> None:
    ana = sign_in(world.app, "ana@acme.example")
    olga = sign_in(world.app, "olga@acme.example")
    ana.post(tags(world.device), json={"tag": "vip"})
    ana.post(tags(world.other_device), json={"tag": "incident:42"})
    olga.post(tags(world.access), json={"tag": "vip"})
    key = world.key
    assert _ids(key, query="tag:vip") == [world.access, world.device]
    assert _ids(key, tag="vip") == [world.access, world.device]
    assert _ids(key, tag="VIP") == [world.access, world.device]  # tags are lower case
    assert _ids(key, tag=["vip", "incident:42"]) == [world.access, world.other_device,
                                                     world.device]
    assert _ids(key, query="tag:vip,incident:42 category:device") == [world.other_device,
                                                                      world.device]
    assert _ids(key, query="tag:vip", category="device") == [world.device]
    assert _ids(key, query="-tag:vip category:device") == [world.other_device]
    assert _ids(key, query="tag:nobody") == []
    # The analyst does not read "access": the tag finds only what they may read.
    assert _ids(ana, tag="vip") == [world.device]
    # Totals count by tag too.
    facets = key.get("/api/v1/facets", params={"tag": "vip", "fields": "category"}).json()
    assert facets["total"] == {"count": 2, "exact": True}
    assert {v["value"]: v["count"] for v in facets["facets"]["category"]["values"]} == {
        "device": 1, "access": 1}


def test_a_malformed_tag_in_a_search_is_refused(world: World) -> None:
    answer = world.key.get("/api/v1/events", params={"tag": "no spaces allowed"})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "tag"
    answer = world.key.get("/api/v1/events", params={"query": "result:failure tag:a!b"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["position"]) == ("query_syntax", 20)
    assert "tag:" in error["details"][0]["reason"]
    both = world.key.get("/api/v1/events", params={"query": "tag:vip", "tag": "vip"})
    assert both.status_code == 422  # a filter given both ways
