"""The console's pages without a browser: which role opens which page, what a page
does without a session, the headers every page carries, the sign-in and sign-out
forms' tokens, and that event content is escaped in the HTML itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from staff_helpers import PASSWORD, add_user
from trailbook.api.app import create_app
from trailbook.model.event import convert_event
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant

ROLES = ("owner", "admin", "auditor", "analyst", "viewer")
# page -> the roles that may open it (every other built-in role gets the 403 page)
PAGES: dict[str, set[str]] = {
    "/logs": set(ROLES),
    "/events/{general}": set(ROLES),
    "/events/{admin}": {"owner", "admin", "auditor", "viewer"},  # analyst: not its category
    "/access": set(ROLES),
    "/account/password": set(ROLES),
    "/admin/users": {"owner", "admin"},
    "/admin/roles": {"owner", "admin"},
    "/admin/keys": {"owner", "admin"},
    "/admin/integrity": {"owner", "admin", "auditor"},
    "/exports": {"owner", "admin", "auditor"},
    "/admin/alerts": {"owner", "admin"},
    "/admin/retention": {"owner", "admin"},
    "/admin/logs": {"owner", "admin", "auditor"},
}


@pytest.fixture
def app(tb: Trailbook) -> FastAPI:
    return create_app(tb)


def _event(tb: Trailbook, tenant: Tenant, **fields: object) -> str:
    event = {"action": "note.add", "actor": {"id": "u-1"}, **fields}
    return tb.events.ingest(tenant, [convert_event(event)], batch=False)[0].id


def page_login(app: FastAPI, email: str, password: str = PASSWORD) -> TestClient:
    """A client signed in through the sign-in form, as a browser is."""
    http = TestClient(app, follow_redirects=False)
    form = http.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = http.post("/login", data={"email": email, "password": password,
                                       "login_token": token.group(1), "next": "/logs"})
    assert answer.status_code == 303, answer.text
    return http


@pytest.fixture
def world(tb: Trailbook, tenant: Tenant, app: FastAPI) -> Iterator[dict[str, object]]:
    general = _event(tb, tenant, category="general")
    admin = _event(tb, tenant, category="admin")
    clients = {}
    for role in ROLES:
        add_user(tb, tenant, f"{role}@acme.example", role)
        clients[role] = page_login(app, f"{role}@acme.example")
    yield {"general": general, "admin": admin, "clients": clients}
    for http in clients.values():
        http.close()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_its_pages(world: dict[str, object], role: str,
                                           tb: Trailbook, tenant: Tenant) -> None:
    http = world["clients"][role]  # type: ignore[index]
    for page, allowed in PAGES.items():
        path = page.format(**world)
        answer = http.get(path)
        if role in allowed:
            assert answer.status_code == 200, (role, path, answer.text[:300])
            assert answer.headers["content-type"].startswith("text/html")
        elif "{admin}" in page:
            assert answer.status_code == 404, (role, path)  # not told it exists
        else:
            assert answer.status_code == 403, (role, path)
            assert "Not allowed" in answer.text
    refusals = [e for e in tb.events.search(tenant, _access_denied(), None, 100).events]
    expected = sum(1 for page, allowed in PAGES.items()
                   if role not in allowed and "{admin}" not in page)
    assert len(refusals) == expected  # every 403 page is audited


def _access_denied():  # type: ignore[no-untyped-def]
    from trailbook.query.filters import EventFilter
    return EventFilter(categories=("access",), actions=("access.denied",))


def test_menu_shows_only_pages_the_role_opens(world: dict[str, object]) -> None:
    viewer = world["clients"]["viewer"]  # type: ignore[index]
    html = viewer.get("/logs").text
    assert 'href="/admin/users"' not in html and 'href="/admin/keys"' not in html
    owner = world["clients"]["owner"]  # type: ignore[index]
    html = owner.get("/logs").text
    for path in ("/admin/users", "/admin/roles", "/admin/keys", "/admin/integrity"):
        assert f'href="{path}"' in html


def test_without_a_session_pages_send_the_browser_to_sign_in(app: FastAPI) -> None:
    http = TestClient(app, follow_redirects=False)
    answer = http.get("/logs?query=action:miner.*")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Flogs%3Fquery%3Daction%3Aminer.%2A"
    http.cookies.set("trailbook_session", "not-a-session")
    answer = http.get("/admin/users")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_every_page_carries_a_strict_content_security_policy(world: dict[str, object]
                                                             ) -> None:
    http = world["clients"]["owner"]  # type: ignore[index]
    for path in ("/logs", "/access", "/admin/users", "/login"):
        headers = http.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"


def test_sign_in_form_needs_its_own_token(app: FastAPI, tb: Trailbook,
                                          tenant: Tenant) -> None:
    add_user(tb, tenant, "ana@acme.example", "viewer")
    http = TestClient(app, follow_redirects=False)
    # another site's form posting credentials has no token bound to this browser
    answer = http.post("/login", data={"email": "ana@acme.example", "password": PASSWORD,
                                       "login_token": "forged"})
    assert answer.status_code == 403 and "expired" in answer.text
    assert "trailbook_session" not in answer.cookies


def test_sign_in_goes_back_only_to_this_site(app: FastAPI, tb: Trailbook,
                                             tenant: Tenant) -> None:
    add_user(tb, tenant, "ana@acme.example", "viewer")
    for target, expected in (("/events/x?y=1", "/events/x?y=1"),
                             ("https://evil.example/", "/logs"), ("//evil.example", "/logs"),
                             ("/\\evil.example", "/logs")):
        http = TestClient(app, follow_redirects=False)
        token = re.search(r'name="login_token" value="([^"]+)"', http.get("/login").text)
        assert token is not None
        answer = http.post("/login", data={"email": "ana@acme.example", "password": PASSWORD,
                                           "login_token": token.group(1), "next": target})
        assert answer.headers["location"] == expected


def test_wrong_password_and_lockout_are_shown_on_the_form(app: FastAPI, tb: Trailbook,
                                                          tenant: Tenant) -> None:
    add_user(tb, tenant, "ana@acme.example", "viewer")
    http = TestClient(app, follow_redirects=False)
    statuses = []
    for _ in range(6):
        token = re.search(r'name="login_token" value="([^"]+)"', http.get("/login").text)
        assert token is not None
        answer = http.post("/login", data={"email": "ana@acme.example", "password": "nope",
                                           "login_token": token.group(1)})
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert "Try again in" in answer.text


def test_sign_out_form_needs_the_session_token(world: dict[str, object]) -> None:
    http = world["clients"]["viewer"]  # type: ignore[index]
    assert http.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert http.get("/logs").status_code == 200  # still signed in
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/logs").text)
    assert token is not None
    answer = http.post("/logout", data={"csrf_token": token.group(1)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    http.cookies.clear()
    assert http.get("/logs").status_code == 303


def test_one_time_password_leads_to_the_password_page(app: FastAPI, tb: Trailbook,
                                                      tenant: Tenant) -> None:
    user, issued = tb.users.add(tenant, "new@acme.example", "New", "viewer", None, by=None,
                                context=CLI)
    assert issued is not None
    http = page_login(app, user.email, issued)
    answer = http.get("/logs")
    assert answer.status_code == 303 and answer.headers["location"] == "/account/password"
    assert http.get("/account/password").status_code == 200


def test_event_content_is_escaped_in_the_html(world: dict[str, object], tb: Trailbook,
                                              tenant: Tenant) -> None:
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    event_id = _event(tb, tenant, category="general", description=payload,
                      actor={"id": "u-x", "name": payload},
                      changes=[{"field": "note", "old": payload, "new": {"x": payload}}],
                      metadata={"m": payload})
    http = world["clients"]["owner"]  # type: ignore[index]
    for path in ("/logs", f"/events/{event_id}"):
        html = http.get(path).text
        assert payload not in html
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_event_page_checks_the_event_against_the_signed_tree(world: dict[str, object],
                                                             tb: Trailbook,
                                                             tenant: Tenant) -> None:
    event_id = _event(tb, tenant, category="general")
    owner = world["clients"]["owner"]  # type: ignore[index]
    assert "not yet in a signed tree" in owner.get(f"/events/{event_id}").text
    tb.checkpoints.checkpoint_pending()
    html = owner.get(f"/events/{event_id}").text
    assert re.search(r"✓ leaf \d+ of the tree signed at seq \d+", html)
    assert "✓ verified up to the signed checkpoint" in html
    viewer = world["clients"]["viewer"]  # type: ignore[index]
    assert 'id="seal-merkle"' not in viewer.get(f"/events/{event_id}").text  # no verify
