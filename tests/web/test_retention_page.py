"""The retention page: each category with how long its events are kept and where that
comes from, remove buttons only for policies set, the policy and hold forms, a release
form per active hold, the released holds listed with why, text escaped; a 403 page
(and no menu link) for a role without retention.manage; and the page's forms in a
real browser against a served Trailbook."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from conftest import SERVER_OWNER, RunningServer
from staff_helpers import add_user
from trailbook.api.app import create_app
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant
from web.conftest import Watched, shot, sign_in
from web.test_pages import page_login


@pytest.fixture
def app(tb: Trailbook) -> FastAPI:
    return create_app(tb)


def test_owner_sees_policies_holds_and_the_forms(app: FastAPI, tb: Trailbook,
                                                 tenant: Tenant) -> None:
    rules = tb.retention_rules
    rules.set_policy(None, tenant, "*", 730, CLI)
    rules.set_policy(None, tenant, "access", 365, CLI)
    rules.set_policy(None, tenant, "admin", None, CLI)
    active = rules.create_hold(None, tenant, "Dispute <b>4471</b>",
                               "target.id:acct-4471", "billing <script>x</script>", CLI)
    old = rules.create_hold(None, tenant, "RMA rack B4", 'target.name:"Rack B4"',
                            "warranty claim", CLI)
    rules.release_hold(None, tenant, old.id, "claim paid", CLI)
    add_user(tb, tenant, "owner@acme.example", "owner")
    http = page_login(app, "owner@acme.example")

    html = http.get("/admin/retention").text
    assert 'href="/admin/retention"' in html  # in the menu
    assert "/static/retention.js" in html
    assert "Dispute &lt;b&gt;4471&lt;/b&gt;" in html and "<b>4471</b>" not in html
    assert "<script>x</script>" not in html
    # policies: own, the default, forever; remove buttons only where a policy is set
    assert 'data-api="DELETE /api/v1/retention/policies/%2A"' in html
    assert 'data-api="DELETE /api/v1/retention/policies/access"' in html
    assert 'data-api="DELETE /api/v1/retention/policies/admin"' in html
    assert 'data-api="DELETE /api/v1/retention/policies/device"' not in html
    device_row = html.split('data-category="device"')[1].split("</tr>")[0]
    assert "730 days" in device_row and "the default" in device_row
    admin_row = html.split('data-category="admin"')[1].split("</tr>")[0]
    assert "forever" in admin_row
    # holds: a release form for the active one; the released one listed with why
    assert f'data-api="POST /api/v1/retention/holds/{active.id}/release"' in html
    assert f'data-api="POST /api/v1/retention/holds/{old.id}/release"' not in html
    released = html.split('id="released-holds"')[1]
    assert "RMA rack B4" in released and "claim paid" in released
    assert 'id="add-hold" data-api="POST /api/v1/retention/holds"' in html
    assert 'id="set-policy"' in html and 'id="run-now"' in html


def test_an_empty_tenant_shows_forever_everywhere(app: FastAPI, tb: Trailbook,
                                                  tenant: Tenant) -> None:
    add_user(tb, tenant, "admin@acme.example", "admin")
    html = page_login(app, "admin@acme.example").get("/admin/retention").text
    assert "not set (forever)" in html
    assert "No active legal holds." in html
    assert 'id="released-holds"' not in html
    assert 'data-api="DELETE /api/v1/retention/policies' not in html


@pytest.mark.parametrize("role", ["auditor", "analyst", "viewer"])
def test_forbidden_without_retention_manage(app: FastAPI, tb: Trailbook, tenant: Tenant,
                                            role: str) -> None:
    add_user(tb, tenant, f"{role}@acme.example", role)
    http = page_login(app, f"{role}@acme.example")
    answer = http.get("/admin/retention")
    assert answer.status_code == 403
    assert "retention.manage" in answer.text
    assert 'href="/admin/retention"' not in http.get("/logs").text


def test_signed_out_is_sent_to_sign_in(app: FastAPI) -> None:
    answer = TestClient(app, follow_redirects=False).get("/admin/retention")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


@pytest.mark.browser
def test_policies_and_holds_in_a_browser(server: RunningServer, tab: Watched) -> None:
    page = tab.page
    tab.accept_confirms = True
    sign_in(page, server.base_url, *SERVER_OWNER)
    page.goto(f"{server.base_url}/admin/retention")
    # No runs yet (or the runs cannot be read): the table says so, the page works.
    expect(page.locator("#runs")).to_contain_text("No purge runs yet.")

    policy = page.locator("#set-policy")
    policy.locator("select[name=category]").select_option("*")
    policy.locator("input[name=keep_days]").fill("90")
    with page.expect_navigation():
        policy.get_by_role("button", name="Set policy").click()
    expect(page.locator('tr[data-category="device"]')).to_contain_text("90 days")
    expect(page.locator('tr[data-category="device"]')).to_contain_text("the default")
    policy.locator("select[name=category]").select_option("admin")
    policy.locator("input[name=forever]").check()
    expect(policy.locator("input[name=keep_days]")).to_be_disabled()
    with page.expect_navigation():
        policy.get_by_role("button", name="Set policy").click()
    admin = page.locator('tr[data-category="admin"]')
    expect(admin).to_contain_text("forever")

    hold = page.locator("#add-hold")
    hold.locator("input[name=name]").fill("Dispute 4471")
    hold.locator("input[name=query]").fill("target.id:acct-4471 last:90d")
    hold.locator("input[name=reason]").fill("billing dispute, ticket 4471")
    hold.get_by_role("button", name="Place hold").click()
    expect(hold.locator(".form-error")).to_contain_text("last:")
    hold.locator("input[name=query]").fill("target.id:acct-4471 before:2026-07-01")
    with page.expect_navigation():
        hold.get_by_role("button", name="Place hold").click()
    row = page.locator("#holds tbody tr[data-hold]")
    expect(row).to_contain_text("Dispute 4471")
    shot(page, "retention", full_page=True)

    row.locator("input[name=reason]").fill("settled, ticket closed")
    with page.expect_navigation():
        row.get_by_role("button", name="Release").click()
    expect(page.locator("#holds")).to_contain_text("No active legal holds.")
    expect(page.locator("#released-holds")).to_contain_text("settled, ticket closed")

    with page.expect_navigation():
        admin.get_by_role("button", name="Remove").click()
    expect(page.locator('tr[data-category="admin"]')).to_contain_text("the default")

    # Nothing is 90 days old yet: the run removes nothing and records no purge.
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#toast")).to_contain_text("Retention run done: 0 events removed")
    expect(page.locator("#runs")).to_contain_text("No purge runs yet.")
    assert tab.errors == [] and tab.dialogs == []
