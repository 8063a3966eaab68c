"""Browser tests: Debian's chromium driven by Playwright for Python, against a real
`trailbook serve` (the ``server`` fixture). Playwright never downloads a browser here;
CI installs the `chromium` package (.ci/run)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from conftest import SERVER_OWNER, RunningServer

CHROMIUM = os.environ.get("TRAILBOOK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
STAFF_PASSWORD = "a long staff password 1"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: install Debian's chromium package "
                    "(apt-get install chromium), as .ci/run does")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@dataclass
class Watched:
    """A page, with what it said on the console and any dialog it tried to open."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept_confirms: bool = False  # answer "OK" to the page's own confirm() questions


def watch(context: BrowserContext) -> Watched:
    page = context.new_page()
    seen = Watched(page)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error"
            and "Failed to load resource" not in msg.text else None)

    def dialog(d: Any) -> None:
        if d.type == "confirm" and seen.accept_confirms:
            d.accept()
            return
        seen.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    return seen


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900},
                               accept_downloads=True, timezone_id="Europe/Berlin")
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def tab(context: BrowserContext) -> Watched:
    return watch(context)


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    page.wait_for_load_state()


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if full_page:  # from the top, or the sticky header lands mid-picture
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def post_events(server: RunningServer, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = httpx.post(f"{server.base_url}/api/v1/events", json=events,
                        headers={"Authorization": f"Bearer {server.api_key}"}, timeout=60)
    assert answer.status_code == 201, answer.text
    stored: list[dict[str, Any]] = answer.json()["events"]
    return stored


def owner_api(server: RunningServer) -> httpx.Client:
    """An HTTP client signed in as the server's owner (sending its CSRF token)."""
    http = httpx.Client(base_url=server.base_url, timeout=60)
    answer = http.post("/api/v1/auth/login",
                       json={"email": SERVER_OWNER[0], "password": SERVER_OWNER[1]})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return http


def add_staff(server: RunningServer, email: str, role: str) -> None:
    http = owner_api(server)
    try:
        answer = http.post("/api/v1/users", json={"email": email, "name": email.split("@")[0],
                                                  "role": role, "password": STAFF_PASSWORD})
        assert answer.status_code == 201, answer.text
    finally:
        http.close()
