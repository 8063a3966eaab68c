"""Alerts in the console, in a real browser against a served Trailbook: add a signed
webhook channel (a loopback receiver) and send it a test message, add a rule, watch a
critical event's alert arrive, and send a dead letter again with the Retry button."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from conftest import SERVER_OWNER, RunningServer
from notify.loopback import Reply, http_receiver
from trailbook.notify.channels import verify_signature
from web.conftest import Watched, post_events, shot, sign_in

pytestmark = pytest.mark.browser
OWNER, OWNER_PASSWORD = SERVER_OWNER
SECRET = "a webhook secret of some length"


def test_channel_rule_alert_and_retry(server: RunningServer, tab: Watched) -> None:
    # test message: 200; the first alert: 410 (a dead letter); its retry: 200
    with http_receiver(Reply(200), Reply(410, b"gone"), Reply(200)) as web:
        page = tab.page
        sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
        page.goto(f"{server.base_url}/admin/alerts")
        expect(page.get_by_text("Add a channel below first")).to_be_visible()
        form = page.locator("#add-channel")
        form.locator("input[name=name]").fill("ops hook")
        form.locator("input[name=url]").fill("ftp://wrong")
        form.locator("input[name=secret]").fill(SECRET)
        form.get_by_role("button", name="Add channel").click()
        expect(form.locator(".form-error")).to_contain_text("config.url")
        form.locator("input[name=url]").fill(f"{web.url}/trailbook")
        form.get_by_role("button", name="Add channel").click()
        row = page.locator('tr[data-channel="ops hook"]')
        expect(row).to_contain_text("********")
        row.get_by_role("button", name="Send test").click()
        expect(page.get_by_text("Test message delivered")).to_be_visible()
        assert web.requests[0].json()["kind"] == "test"

        rule = page.locator("#add-rule")
        rule.locator("input[name=name]").fill("Manual bonuses")
        rule.locator("input[name=query]").fill("action:bonus.manual_assign")
        rule.get_by_role("button", name="Add rule").click()
        expect(page.locator('tr[data-rule="Manual bonuses"]')).to_contain_text("each match")
        time.sleep(1.5)  # the server's next round sets the rule's starting point

        [event] = post_events(server, [{
            "action": "bonus.manual_assign", "category": "admin", "severity": "critical",
            "actor": {"id": "u-7", "name": "Dana Ops"},
            "targets": [{"type": "player", "id": "p-1"}]}])
        page.goto(f"{server.base_url}/admin/alerts?state=dead#h-deliveries")
        dead = page.locator("#deliveries tbody tr[data-delivery]")
        for _ in range(30):
            if dead.count():
                break
            time.sleep(0.5)
            page.reload()
        expect(dead).to_have_count(1)
        expect(dead).to_contain_text("410")
        expect(page.locator(".tabs")).to_contain_text(re.compile(r"Dead\s*1"))
        shot(page, "alerts", full_page=True)
        delivery_id = dead.get_attribute("data-delivery")
        with page.expect_navigation():  # the page reloads once the retry is taken
            dead.get_by_role("button", name="Retry").click()
        page.goto(f"{server.base_url}/admin/alerts?state=delivered#h-deliveries")
        delivered = page.locator(f'tr[data-delivery="{delivery_id}"]')
        for _ in range(30):
            if delivered.count():
                break
            time.sleep(0.5)
            page.reload()
        expect(delivered).to_contain_text("delivered")
        alerts = [r for r in web.requests if r.json()["kind"] == "alert"]
        assert [r.headers["trailbook-delivery"] for r in alerts] == [delivery_id] * 2
        assert all(verify_signature(SECRET, r.headers["trailbook-timestamp"], r.body,
                                    r.headers["trailbook-signature"]) for r in alerts)
        assert alerts[0].json()["event_ids"] == [event["id"]]
        assert tab.errors == []
