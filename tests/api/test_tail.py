"""GET /api/v1/events/stream, over real HTTP against a served `trailbook serve` (on both
backends): events that arrive after the stream opens and match its filter are pushed,
in arrival order, others never; Last-Event-ID resumes; a role reads only its
categories, masked without personal_data; refusals are JSON; and the stream ends when
its session does. No timing is asserted: reads wait with generous deadlines."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import SERVER_OWNER, RunningServer, minimal_event

STREAM = "/api/v1/events/stream"
EVENTS = "/api/v1/events"
PASSWORD = "a long staff password 1"
WAIT = 60.0  # seconds a test waits for something that must come
FAST = {"tail_poll_seconds": "0.2"}
# Also keep-alives and re-checks of the caller often, to see them happen.
EAGER = {**FAST, "tail_keepalive_seconds": "0.5", "tail_recheck_seconds": "0.5"}


@dataclass
class Message:
    event: str | None = None  # None: a comment
    id: str | None = None
    data: list[str] = field(default_factory=list)
    comment: str | None = None

    def json(self) -> Any:
        return json.loads("\n".join(self.data))


def messages(response: httpx.Response) -> Iterator[Message]:
    """The server-sent events of a streamed answer, as they come."""
    current = Message()
    for line in response.iter_lines():
        if line == "":
            if current.event or current.data:
                yield current
            current = Message()
        elif line.startswith(":"):
            yield Message(comment=line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                current.event = value
            elif name == "id":
                current.id = value
            elif name == "data":
                current.data.append(value)


def until(stream: Iterator[Message], wanted: str, deadline: float) -> tuple[Message, list[Message]]:
    """Read up to the next message of kind ``wanted`` ("keepalive" for a comment);
    also returns what came before it."""
    before: list[Message] = []
    for message in stream:
        if (message.comment if wanted == "keepalive" else message.event) == wanted:
            return message, before
        before.append(message)
        assert time.monotonic() < deadline, f"no {wanted!r} yet; got {before}"
    raise AssertionError(f"the stream ended before {wanted!r}; got {before}")


def events_until(stream: Iterator[Message], ids: set[str], deadline: float
                 ) -> list[tuple[str | None, dict[str, Any]]]:
    """Every event received (with its message's id) until all of ``ids`` came."""
    received: list[tuple[str | None, dict[str, Any]]] = []
    while not ids <= {e["id"] for _, e in received}:
        message, _ = until(stream, "events", deadline)
        received += [(message.id, e) for e in message.json()["events"]]
    return received


def key_client(server: RunningServer, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=WAIT,
                        headers={"Authorization": f"Bearer {key or server.api_key}"})


def sign_in(server: RunningServer, email: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=server.base_url, timeout=WAIT)
    answer = http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return http


def post(http: httpx.Client, *events: dict[str, Any]) -> list[str]:
    answer = http.post(EVENTS, json=list(events))
    assert answer.status_code == 201, answer.text
    return [e["id"] for e in answer.json()["events"]]


def add_staff(server: RunningServer, email: str, permissions: list[str],
              categories: list[str]) -> httpx.Client:
    """A user of a role of their own, made by the owner; signed in."""
    with closing(sign_in(server, *SERVER_OWNER)) as owner:
        role = email.partition("@")[0]
        made = owner.post("/api/v1/roles", json={"name": role, "permissions": permissions,
                                                 "categories": categories})
        assert made.status_code == 201, made.text
        made = owner.post("/api/v1/users", json={"email": email, "role": role,
                                                 "password": PASSWORD})
        assert made.status_code == 201, made.text
    return sign_in(server, email, PASSWORD)


@pytest.mark.parametrize("server_env", [FAST])
def test_matching_events_arrive_in_arrival_order_and_others_never(
        server: RunningServer) -> None:
    deadline = time.monotonic() + WAIT
    with key_client(server) as http:
        [before] = post(http, minimal_event(category="device", action="miner.reboot"))
        params = {"category": "device", "query": "-result:failure"}
        with http.stream("GET", STREAM, params=params) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = messages(response)
            ready, _ = until(stream, "ready", deadline)
            head = int(ready.json()["after_seq"])
            assert ready.id == str(head) and head >= server.setup_seq + 1
            other, first, failed, late = post(
                http,
                minimal_event(category="client", action="client.bill.update"),
                minimal_event(category="device", action="miner.reboot",
                              actor={"id": "u-1", "email": "olga@example.com"}),
                minimal_event(category="device", action="miner.reboot", result="failure",
                              reason="timeout"),
                # Happened long ago, sent now: it arrives now, so the tail has it.
                minimal_event(category="device", action="miner.pool.change",
                              occurred_at="2020-01-01T00:00:00.000000Z"))
            received = events_until(stream, {first, late}, deadline)
        assert [e["id"] for _, e in received] == [first, late]
        assert before not in {e["id"] for _, e in received}
        seqs = [e["seq"] for _, e in received]
        assert seqs == sorted(seqs) and seqs[0] > head
        # Each message's id is the last seq it read: at least its own events' seqs.
        assert all(int(str(mid)) >= e["seq"] for mid, e in received)
        # The same JSON as reading the event (unmasked: a key with the read scope).
        shown = http.get(f"{EVENTS}/{first}").json()
        assert received[0][1] == shown
        assert received[0][1]["actor"]["email"] == "olga@example.com"
        assert {other, failed}.isdisjoint(e["id"] for _, e in received)
        # A key's tail is not audited (as its searches are not).
        assert http.get(EVENTS, params={"action": "search.tail"}).json()["events"] == []


@pytest.mark.parametrize("server_env", [FAST])
def test_last_event_id_resumes_after_that_seq(server: RunningServer) -> None:
    deadline = time.monotonic() + WAIT
    with key_client(server) as http:
        with http.stream("GET", STREAM, params={"action": "miner.*"}) as response:
            ready, _ = until(messages(response), "ready", deadline)
        missed = post(http, *(minimal_event(action="miner.reboot", description=f"n{n}")
                              for n in range(3)),
                      minimal_event(action="user.login"))
        resume = {"Last-Event-ID": str(ready.id)}
        with http.stream("GET", STREAM, params={"action": "miner.*"},
                         headers=resume) as response:
            stream = messages(response)
            again, _ = until(stream, "ready", deadline)
            assert again.id == ready.id
            received = events_until(stream, set(missed[:3]), deadline)
            last_id = received[-1][0]
        assert [e["id"] for _, e in received] == missed[:3]
        # Resuming after the last id sent: nothing again, only what is new.
        [newer] = post(http, minimal_event(action="miner.reboot"))
        with http.stream("GET", STREAM, params={"action": "miner.*"},
                         headers={"Last-Event-ID": str(last_id)}) as response:
            received = events_until(messages(response), {newer}, deadline)
        assert [e["id"] for _, e in received] == [newer]

        bad = http.get(STREAM, headers={"Last-Event-ID": "seven"})
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["details"][0]["field"] == "Last-Event-ID"


@pytest.mark.parametrize("server_env", [FAST])
def test_a_role_gets_only_its_categories_masked_without_personal_data(
        server: RunningServer) -> None:
    deadline = time.monotonic() + WAIT
    staff_client = add_staff(server, "devices@acme.example", ["events.read"], ["device"])
    with closing(staff_client) as staff, key_client(server) as http:
        # Filtering by personal data needs the right to see it.
        refused = staff.get(STREAM, params={"actor_email": "olga@example.com"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"][0]["field"] == "actor_email"
        with staff.stream("GET", STREAM, params={"query": "-action:miner.pool.*"}
                          ) as response:
            stream = messages(response)
            until(stream, "ready", deadline)
            hidden = post(http, minimal_event(category="client", action="client.bill.update"),
                          minimal_event(category="admin", action="role.grant"))
            [shown] = post(http, minimal_event(
                category="device", action="miner.reboot", source={"ip": "10.1.2.3"},
                actor={"id": "u-1", "email": "olga@example.com"}))
            received = events_until(stream, {shown}, deadline)
        assert [e["id"] for _, e in received] == [shown]
        assert set(hidden).isdisjoint(e["id"] for _, e in received)
        event = received[0][1]
        assert event["masked"] is True
        assert event["actor"]["email"] == "o***@example.com"
        assert event["source"]["ip"] == "10.1.2.x"
        # Opening the tail was audited as a search by staff.
        [audit] = http.get(EVENTS, params={"action": "search.tail"}).json()["events"]
        assert audit["category"] == "access" and audit["action_type"] == "read"
        assert audit["actor"]["email"] == "devices@acme.example"
        assert audit["metadata"]["query"] == "-action:miner.pool.*"


def test_without_events_read_it_is_forbidden(server: RunningServer) -> None:
    with closing(sign_in(server, *SERVER_OWNER)) as owner:
        made = owner.post("/api/v1/api-keys", json={"name": "ingest only",
                                                    "scopes": ["ingest"]})
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
    with key_client(server, secret) as ingest_only:
        refused = ingest_only.get(STREAM)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json()["error"]["code"] == "forbidden"
    verifier = add_staff(server, "verifier@acme.example", ["integrity.verify"], [])
    with closing(verifier) as staff:
        refused = staff.get(STREAM)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"][0]["reason"].startswith("needs events.read")
    with httpx.Client(base_url=server.base_url, timeout=WAIT) as anonymous:
        assert anonymous.get(STREAM).status_code == 401
    with key_client(server) as http:
        denied = http.get(EVENTS, params={"action": "access.denied"}).json()["events"]
    assert [e["metadata"]["path"] for e in denied] == [STREAM, STREAM]


@pytest.mark.parametrize("server_env", [EAGER])
def test_the_stream_keeps_alive_and_ends_with_its_session(server: RunningServer) -> None:
    deadline = time.monotonic() + WAIT
    with closing(add_staff(server, "watcher@acme.example", ["events.read"], ["*"])) as staff:
        session_id = staff.get("/api/v1/auth/me").json()["session"]["id"]
        with staff.stream("GET", STREAM) as response:
            stream = messages(response)
            until(stream, "ready", deadline)
            until(stream, "keepalive", deadline)  # nothing new: a comment now and then
            # An owner ends the session.
            with closing(sign_in(server, *SERVER_OWNER)) as owner:
                ended = owner.delete(f"/api/v1/sessions/{session_id}")
                assert ended.status_code == 204, ended.text
            end, _ = until(stream, "end", deadline)
            assert end.json()["error"]["code"] == "unauthenticated"
            assert list(stream) == []  # and the server closed the stream
