"""Saved searches in the console, in a real browser: save the search on the logs page
under a name, see it listed (marked as the search on the page), open it from another
search, meet a taken name, and delete it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import BrowserContext, Dialog, expect

from conftest import SERVER_OWNER, RunningServer
from web.conftest import owner_api, post_events, shot, sign_in

pytestmark = pytest.mark.browser
OWNER, OWNER_PASSWORD = SERVER_OWNER


def _events() -> list[dict[str, Any]]:
    start = datetime.now(UTC) - timedelta(hours=1)
    return [{"action": "user.login", "category": "access", "action_type": "login",
             "occurred_at": (start + timedelta(minutes=i)).isoformat(),
             "result": "failure" if i % 3 == 0 else "success",
             **({"reason": "bad password"} if i % 3 == 0 else {}),
             "actor": {"id": f"u-{i % 4}", "email": f"user{i % 4}@shop.example"}}
            for i in range(12)]


def test_save_open_and_delete_a_search(server: RunningServer, context: BrowserContext) -> None:
    post_events(server, _events())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and "Failed to load resource" not in msg.text else None)
    prompts: list[str] = []  # what the page asked
    answers = ["Failed logins", "failed LOGINS"]  # the names typed in, in turn

    def dialog(d: Dialog) -> None:
        prompts.append(f"{d.type}: {d.message}")
        if d.type == "prompt":
            d.accept(answers.pop(0))
        else:
            d.accept()

    page.on("dialog", dialog)
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?category=access")
    box = page.locator("#saved-searches")
    expect(box).to_contain_text("None yet")

    # The search on the page: a query typed in, the access tab and a time range.
    page.fill("#query", "action:user.login result:failure")
    page.select_option("#time-preset", "24h")  # submits the form
    page.wait_for_url(re.compile(r"last=24h"))
    page.fill("#query", "action:user.login result:failure")
    page.click("#search-button")
    page.wait_for_url(re.compile(r"query="))
    expect(page.locator("#events tbody tr")).to_have_count(4)

    page.click("#save-search")
    expect(box.locator("li a")).to_have_text(["Failed logins"])
    assert prompts[0].startswith("prompt: Name this search")
    link = box.locator("li a")
    expect(link).to_have_attribute("aria-current", "true")  # the search on the page
    saved_url = link.get_attribute("href")
    assert saved_url is not None
    assert parse_qs(urlparse(saved_url).query) == {
        "query": ["action:user.login result:failure"], "category": ["access"],
        "last": ["24h"]}
    shot(page, "saved-searches")

    # The same name again (in another case) is refused, and said so.
    page.click("#save-search")
    expect(page.locator("#toast")).to_contain_text("taken")
    expect(box.locator("li")).to_have_count(1)

    # From another search, the link runs the saved one.
    page.goto(f"{server.base_url}/logs")
    expect(link).not_to_have_attribute("aria-current", "true")
    link.click()
    page.wait_for_url(re.compile(r"query="))
    expect(page.locator("#query")).to_have_value("action:user.login result:failure")
    expect(page.locator("#events tbody tr")).to_have_count(4)
    expect(page.locator("#events tbody tr .c-result")).to_have_text(["failure"] * 4)
    expect(link).to_have_attribute("aria-current", "true")

    # Deleting asks first, then it is gone.
    box.get_by_role("button", name="Delete saved search Failed logins").click()
    expect(box).to_contain_text("None yet")
    assert any(p.startswith("confirm: Delete the saved search") for p in prompts)
    http = owner_api(server)
    try:
        assert http.get("/api/v1/saved-searches").json() == {"saved_searches": []}
    finally:
        http.close()
    assert errors == []
