"""Sign-in, lockout, session expiry, revocation and CSRF, over real HTTP against a
served `trailbook serve` process (on both backends)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from conftest import SERVER_OWNER, RunningServer

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
WRONG = "not the password at all"


def client(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=60)


def sign_in(server: RunningServer, email: str = SERVER_OWNER[0],
            password: str = SERVER_OWNER[1]) -> httpx.Client:
    http = client(server)
    answer = http.post(LOGIN, json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    assert answer.cookies.get("trailbook_session")
    http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return http


def attempt(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post(LOGIN, json={"email": email, "password": password})


def trail(server: RunningServer, **params: Any) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.base_url, timeout=60,
                      headers={"Authorization": f"Bearer {server.api_key}"}) as http:
        found: list[dict[str, Any]] = http.get("/api/v1/events",
                                               params={"limit": 500, **params}).json()["events"]
        return found


@pytest.mark.parametrize("server_env", [{"login_lock_seconds": "2"}])
def test_five_failures_lock_the_account_for_a_growing_interval(
        server: RunningServer) -> None:
    owner, _ = SERVER_OWNER
    with client(server) as http:
        unknown = attempt(http, "nobody@acme.example", WRONG)
        for _ in range(5):
            wrong = attempt(http, owner, WRONG)
            assert wrong.status_code == 401
        # Known and unknown emails get the same answer: nothing tells them apart.
        assert unknown.status_code == 401
        assert unknown.json() == wrong.json()
        set_cookie = wrong.headers.get("set-cookie")
        assert set_cookie is None

        # Locked: even the right password is refused, with how long to wait.
        locked = attempt(http, owner, SERVER_OWNER[1])
        assert locked.status_code == 429, locked.text
        assert locked.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(locked.headers["Retry-After"]) <= 2

        time.sleep(2.2)
        # One more failure after the pause: the next pause is twice as long.
        assert attempt(http, owner, WRONG).status_code == 401
        again = attempt(http, owner, SERVER_OWNER[1])
        assert again.status_code == 429
        assert 3 <= int(again.headers["Retry-After"]) <= 4

        time.sleep(4.2)
        assert attempt(http, owner, SERVER_OWNER[1]).status_code == 200

    events = trail(server, category="access")
    by_action: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_action.setdefault(event["action"], []).append(event)
    assert len(by_action["auth.login_failed"]) == 6
    assert len(by_action["auth.lockout"]) == 2
    assert len(by_action["auth.login_refused"]) == 2
    assert len(by_action["auth.login"]) == 1
    for event in events:
        assert event["source"]["ip"] == "127.0.0.1"
        assert event["actor"]["email"] == owner
        assert "user_agent" in event["source"]
    assert all(e["result"] == "failure" for e in by_action["auth.login_failed"])
    assert by_action["auth.login_failed"][0]["reason"] == "wrong password"


@pytest.mark.parametrize("server_env", [{"login_lock_seconds": "30"}])
def test_twenty_failures_from_one_address_lock_every_email(server: RunningServer) -> None:
    with client(server) as http:
        for n in range(20):
            assert attempt(http, f"guess{n}@acme.example", WRONG).status_code == 401
        refused = attempt(http, SERVER_OWNER[0], SERVER_OWNER[1])
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 1


@pytest.mark.parametrize("server_env", [{"session_idle_seconds": "2",
                                         "session_absolute_seconds": "4"}])
def test_sessions_end_when_idle_and_at_their_absolute_end(server: RunningServer) -> None:
    idle = sign_in(server)
    assert idle.get(ME).status_code == 200
    time.sleep(2.3)
    expired = idle.get(ME)
    assert expired.status_code == 401, expired.text
    assert expired.json()["error"]["details"][0]["reason"] == "idle too long"

    # The server ends the session itself, whatever the browser does with the cookie
    # (which expires at the same time): send it by hand, past its Max-Age.
    token = sign_in(server).cookies.get("trailbook_session")
    cookie = {"Cookie": f"trailbook_session={token}"}
    deadline = time.monotonic() + 5
    statuses = []
    with client(server) as busy:
        while time.monotonic() < deadline:  # never idle, yet ended after four seconds
            statuses.append(busy.get(ME, headers=cookie).status_code)
            time.sleep(0.4)
        assert statuses[0] == 200 and statuses[-1] == 401
        assert statuses == sorted(statuses)  # once ended, it stays ended
        ended = busy.get(ME, headers=cookie).json()["error"]["details"][0]["reason"]
    assert ended == "past its absolute lifetime"


def test_a_revoked_session_is_refused_at_its_next_request(server: RunningServer) -> None:
    laptop, phone = sign_in(server), sign_in(server)
    mine = laptop.get("/api/v1/sessions").json()["sessions"]
    assert len(mine) == 2
    phone_id = phone.get(ME).json()["session"]["id"]
    assert [s["current"] for s in mine if s["id"] == phone_id] == [False]

    assert laptop.delete(f"/api/v1/sessions/{phone_id}").status_code == 204
    refused = phone.get("/api/v1/events")
    assert refused.status_code == 401
    assert "ended" in refused.json()["error"]["message"]
    assert laptop.get(ME).status_code == 200

    # An admin ends someone else's session; a signed-out cookie is dead too.
    made = laptop.post("/api/v1/users", json={"email": "ann@acme.example", "role": "viewer"})
    assert made.status_code == 201, made.text
    ann = sign_in(server, "ann@acme.example", made.json()["one_time_password"])
    assert ann.get("/api/v1/events").status_code == 403  # must choose a password first
    assert ann.post("/api/v1/auth/password", json={
        "current_password": made.json()["one_time_password"],
        "new_password": "anns own good password"}).status_code == 204
    assert ann.get("/api/v1/events").status_code == 200
    ann_session = ann.get(ME).json()["session"]["id"]
    everyone = laptop.get("/api/v1/sessions", params={"all": "true"}).json()["sessions"]
    assert ann_session in {s["id"] for s in everyone}
    assert laptop.delete(f"/api/v1/sessions/{ann_session}").status_code == 204
    assert ann.get(ME).status_code == 401

    cookie = laptop.cookies.get("trailbook_session")
    assert laptop.post("/api/v1/auth/logout").status_code == 204
    with client(server) as stale:
        stale.cookies.set("trailbook_session", cookie or "")
        assert stale.get(ME).status_code == 401

    admin = [e for e in trail(server, category="admin") if e["action"] == "session.revoke"]
    assert {e["targets"][0]["id"] for e in admin} == {phone_id, ann_session}


def test_a_change_without_the_csrf_token_is_refused(server: RunningServer) -> None:
    owner = sign_in(server)
    token = owner.headers.pop("X-CSRF-Token")
    body = {"email": "csrf@acme.example", "role": "viewer"}

    missing = owner.post("/api/v1/users", json=body)
    wrong = owner.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token[::-1]})
    as_form = owner.post("/api/v1/users", data=body)  # what a hostile page could send

    for answer in (missing, wrong, as_form):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["details"][0]["field"] == "X-CSRF-Token"
    listed = owner.get("/api/v1/users").json()["users"]
    assert "csrf@acme.example" not in {u["email"] for u in listed}
    # Reading needs no token; with it, the change goes through.
    made = owner.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    denied = [e for e in trail(server, action="access.denied")]
    assert len(denied) == 3


def test_the_console_forms_refuse_a_post_without_their_token(server: RunningServer) -> None:
    """Over real HTTP: the sign-in form without the token bound to this browser, and
    the sign-out form without the session's token, change nothing."""
    page = httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False)
    forged = page.post("/login", data={"email": SERVER_OWNER[0], "password": SERVER_OWNER[1],
                                       "login_token": "from another site"})
    assert forged.status_code == 403 and "trailbook_session" not in forged.cookies
    form = page.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    signed_in = page.post("/login", data={"email": SERVER_OWNER[0],
                                          "password": SERVER_OWNER[1],
                                          "login_token": token.group(1)})
    assert signed_in.status_code == 303 and "trailbook_session" in page.cookies
    assert page.post("/logout", data={}).status_code == 403
    assert page.post("/logout", data={"csrf_token": "guess"}).status_code == 403
    assert page.get("/logs").status_code == 200  # still signed in
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/logs").text)
    assert csrf is not None
    out = page.post("/logout", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert page.get("/logs").status_code == 303  # the session is over
    page.close()
