"""Saved searches through the API, on both backends: saving, listing, reading,
changing and deleting one's own; the console URL that runs one; isolation between
users and tenants (404); API keys refused (403); a malformed query (400, with the
position), a name taken (409), unknown or clashing parameters and other bad input
(422); the per-user limit; and that none of it writes to the trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.service import saved_searches
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

URL = "/api/v1/saved-searches"


@dataclass
class World:
    tb: Trailbook
    app: FastAPI
    tenant: Tenant
    key: TestClient  # an ingest + read API key of acme
    ana: TestClient  # an analyst of acme
    ben: TestClient  # a viewer of acme
    beta: TestClient  # the owner of another tenant

    def head(self) -> int:
        found = self.tb.store.chain_head(self.tenant.id)
        return found.seq if found else 0


@pytest.fixture
def world(tb: Trailbook, tenant: Tenant) -> Iterator[World]:
    beta = tb.tenants.create("beta")
    add_user(tb, tenant, "ana@acme.example", "analyst")
    add_user(tb, tenant, "ben@acme.example", "viewer")
    add_user(tb, beta, "owner@beta.example", "owner")
    app = create_app(tb)
    with TestClient(app) as key:
        key.headers["Authorization"] = f"Bearer {setup_key(tb, tenant)}"
        answer = key.post("/api/v1/events", json=[
            minimal_event(category="device", action="miner.reboot", result="failure",
                          reason="timeout"),
            minimal_event(category="device", action="miner.reboot"),
            minimal_event(category="device", action="pool.change", result="failure",
                          reason="refused"),
            minimal_event(category="access", action="user.login", result="failure",
                          reason="bad password"),
        ])
        assert answer.status_code == 201, answer.text
        yield World(tb, app, tenant, key, sign_in(app, "ana@acme.example"),
                    sign_in(app, "ben@acme.example"), sign_in(app, "owner@beta.example"))


def save(http: TestClient, name: str, query: str = "result:failure",
         params: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "query": query}
    if params is not None:
        body["params"] = params
    answer = http.post(URL, json=body)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def error_of(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


def fields_of(error: dict[str, Any]) -> list[str]:
    return [d["field"] for d in error["details"]]


def test_save_list_read_change_and_delete(world: World) -> None:
    made = save(world.ana, "  Failed reboots ", "action:miner.* result:failure",
                {"category": "device", "last": ["7d"]})
    assert made["name"] == "Failed reboots"  # trimmed
    assert made["query"] == "action:miner.* result:failure"
    assert made["params"] == {"category": ["device"], "last": ["7d"]}
    assert made["created_at"] == made["updated_at"]
    url = urlsplit(made["url"])
    assert url.path == "/logs"
    assert parse_qsl(url.query) == [("query", "action:miner.* result:failure"),
                                    ("category", "device"), ("last", "7d")]
    # The URL's search is the API's too: it finds the failed reboots.
    found = world.ana.get(f"/api/v1/events?{url.query}").json()["events"]
    assert [(e["action"], e["result"]) for e in found] == [("miner.reboot", "failure")]
    # and the console page runs it
    page = world.ana.get(made["url"])
    assert page.status_code == 200 and "Failed reboots" in page.text
    seq = world.head()  # (the searches above were audited, as every search is)

    other = save(world.ana, "access failures", "", {"category": ["access"],
                                                    "result": "failure"})
    assert other["query"] == "" and other["url"] == "/logs?category=access&result=failure"
    listed = world.ana.get(URL).json()["saved_searches"]
    assert [s["name"] for s in listed] == ["access failures", "Failed reboots"]
    assert world.ana.get(f"{URL}/{made['id']}").json() == made

    renamed = world.ana.patch(f"{URL}/{made['id']}", json={"name": "Reboot failures"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() | {"updated_at": None} == made | {"name": "Reboot failures",
                                                            "updated_at": None}
    assert renamed.json()["updated_at"] >= made["updated_at"]
    changed = world.ana.patch(f"{URL}/{made['id']}", json={
        "query": "action:pool.change", "params": {}}).json()
    assert (changed["name"], changed["query"], changed["params"], changed["url"]) == (
        "Reboot failures", "action:pool.change", {}, "/logs?query=action%3Apool.change")
    # Nothing to change: the same answer.
    assert world.ana.patch(f"{URL}/{made['id']}", json={}).json() == changed

    assert world.ana.delete(f"{URL}/{made['id']}").status_code == 204
    assert error_of(world.ana.get(f"{URL}/{made['id']}"), 404)["code"] == "not_found"
    error_of(world.ana.delete(f"{URL}/{made['id']}"), 404)
    assert [s["id"] for s in world.ana.get(URL).json()["saved_searches"]] == [other["id"]]
    # Personal, not administrative changes: none of these calls is in the trail.
    assert world.head() == seq


def test_no_one_reaches_another_users_searches(world: World) -> None:
    mine = save(world.ana, "Mine", "result:failure")
    for stranger in (world.ben, world.beta):
        assert stranger.get(URL).json() == {"saved_searches": []}
        for method, body in (("GET", None), ("PATCH", {"name": "Stolen"}),
                             ("DELETE", None)):
            answer = stranger.request(method, f"{URL}/{mine['id']}", json=body)
            assert error_of(answer, 404)["details"] == [{"field": "id",
                                                         "reason": str(mine["id"])}]
        # Their own may share the name.
        save(stranger, "mine")
    assert world.ana.get(URL).json()["saved_searches"] == [mine]


def test_api_keys_have_no_saved_searches(world: World) -> None:
    seq = world.head()
    for method, path, body in (("GET", URL, None),
                               ("POST", URL, {"name": "x", "query": "result:failure"}),
                               ("DELETE", f"{URL}/1", None)):
        error = error_of(world.key.request(method, path, json=body), 403)
        assert error["code"] == "forbidden"
        assert "sign in as a staff user" in error["message"]
    assert world.tb.store.saved_searches.for_tenant(world.tenant.id) == []
    # Each refusal is audited, as every refusal of a known caller is.
    assert world.head() == seq + 3
    # A key without the read scope is refused for that first.
    ingest_only = TestClient(world.app)
    secret = setup_key(world.tb, world.tenant, ("ingest",))
    ingest_only.headers["Authorization"] = f"Bearer {secret}"
    assert "'read' scope" in error_of(ingest_only.get(URL), 403)["message"]


def test_a_session_change_needs_the_csrf_token(world: World) -> None:
    without = TestClient(world.app, cookies=world.ana.cookies)
    error_of(without.post(URL, json={"name": "x", "query": ""}), 403)
    assert world.ana.get(URL).json() == {"saved_searches": []}


def test_a_malformed_query_is_refused_with_its_position(world: World) -> None:
    error = error_of(world.ana.post(URL, json={"name": "Broken",
                                               "query": 'action:"broken'}), 400)
    assert error["code"] == "query_syntax" and error["position"] == 8
    assert fields_of(error) == ["query"]
    error = error_of(world.ana.post(URL, json={"name": "Broken", "query": "colour:red"}), 400)
    assert error["position"] == 1 and "unknown field 'colour'" in error["message"]
    made = save(world.ana, "Fine")
    error = error_of(world.ana.patch(f"{URL}/{made['id']}", json={"query": "result:maybe"}),
                     400)
    assert error["position"] == 8
    assert world.ana.get(URL).json()["saved_searches"] == [made]


def test_a_name_is_taken_whatever_its_case(world: World) -> None:
    first = save(world.ana, "Failed logins")
    for name in ("failed logins", "  FAILED LOGINS  "):
        error = error_of(world.ana.post(URL, json={"name": name, "query": ""}), 409)
        assert error["code"] == "conflict" and fields_of(error) == ["name"]
    second = save(world.ana, "Reboots")
    error_of(world.ana.patch(f"{URL}/{second['id']}", json={"name": "FAILED logins"}), 409)
    # Its own name in another case is no clash.
    assert world.ana.patch(f"{URL}/{first['id']}", json={"name": "FAILED LOGINS"}
                           ).json()["name"] == "FAILED LOGINS"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "query": "", "params": {"colour": "red"}}, "colour"),
    ({"name": "x", "query": "", "params": {"result": "maybe"}}, "result"),
    ({"name": "x", "query": "", "params": {"query": "result:failure"}}, "query"),
    ({"name": "x", "query": "", "params": {"cursor": "abc"}}, "cursor"),
    ({"name": "x", "query": "result:failure", "params": {"result": "success"}}, "query"),
    ({"name": "x", "query": "", "params": {"scope": [f"s{i}" for i in range(51)]}},
     "params"),
    ({"name": "x", "query": "", "params": {"actor": "a\x00b"}}, "actor"),
    ({"name": "", "query": ""}, "name"),
    ({"name": "   ", "query": ""}, "name"),
    ({"name": "n" * 101, "query": ""}, "name"),
    ({"name": "two\nlines", "query": ""}, "name"),
    ({"name": "x", "query": "a" * 2001}, "query"),
    ({"name": "x", "query": "ok\x00"}, "query"),
    ({"name": "x", "query": "", "extra": 1}, "body.extra"),
    ({"query": ""}, "body.name"),
])
def test_bad_input_is_refused_naming_the_field(world: World, body: dict[str, Any],
                                               field: str) -> None:
    error = error_of(world.ana.post(URL, json=body), 422)
    assert error["code"] == "validation_failed"
    assert field in fields_of(error), error
    assert world.ana.get(URL).json() == {"saved_searches": []}


def test_parameters_are_kept_trimmed_and_in_order(world: World) -> None:
    made = save(world.ana, "Params", "", {"severity": ["warning", " critical ", ""],
                                          "actor": "", "category": "device"})
    assert made["params"] == {"category": ["device"], "severity": ["warning", "critical"]}
    assert made["url"] == "/logs?category=device&severity=warning&severity=critical"


def test_each_user_keeps_at_most_the_limit(world: World,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved_searches, "MAX_PER_USER", 3)
    for i in range(3):
        save(world.ana, f"search {i}")
    error = error_of(world.ana.post(URL, json={"name": "one more", "query": ""}), 422)
    assert fields_of(error) == ["saved_searches"] and "at most 3" in error["details"][0][
        "reason"]
    assert len(world.ana.get(URL).json()["saved_searches"]) == 3
    save(world.ben, "search 0")  # the limit is per user
    first = world.ana.get(URL).json()["saved_searches"][0]
    assert world.ana.delete(f"{URL}/{first['id']}").status_code == 204
    save(world.ana, "one more")


def test_unknown_ids_are_not_found(world: World) -> None:
    error_of(world.ana.get(f"{URL}/999999"), 404)
    error_of(world.ana.patch(f"{URL}/999999", json={"name": "x"}), 404)
    error_of(world.ana.get(f"{URL}/not-a-number"), 422)


def test_the_logs_page_lists_them_as_text(world: World) -> None:
    made = save(world.ana, '<img src=x onerror="alert(1)">', "result:failure")
    page = world.ana.get("/logs").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert f'data-api="DELETE /api/v1/saved-searches/{made["id"]}"' in page
    # Another user's page lists none of them.
    assert "onerror" not in world.ben.get("/logs").text
