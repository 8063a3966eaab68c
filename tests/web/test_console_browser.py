"""What a new user does in the console, in a real browser: sign in, search with the
query language and the controls, use facets and the histogram, read an event and its
diff, annotate it and find it by tag, export CSV, watch the live tail, manage sessions,
and meet the limits of a viewer's role."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import BrowserContext, expect

from conftest import SERVER_OWNER, RunningServer
from web.conftest import (
    STAFF_PASSWORD,
    Watched,
    add_staff,
    post_events,
    shot,
    sign_in,
    watch,
)

pytestmark = pytest.mark.browser
OWNER, OWNER_PASSWORD = SERVER_OWNER


def _farm_events(count: int = 60) -> list[dict[str, Any]]:
    """A mining farm's morning: reboots, pool changes (with a diff), failed logins."""
    start = datetime.now(UTC) - timedelta(hours=3)
    events: list[dict[str, Any]] = []
    for i in range(count):
        at = (start + timedelta(minutes=2 * i)).isoformat()
        kind = i % 4
        if kind == 0:
            events.append({"action": "miner.reboot", "category": "device", "occurred_at": at,
                           "actor": {"id": "u-7", "name": "Dana Ops",
                                     "email": "dana@farm.example"},
                           "targets": [{"type": "miner", "id": f"m-{i}",
                                        "name": f"rack B4 miner {i}"}],
                           "source": {"ip": "10.0.4.7"}, "scope": "rack-b4",
                           "description": f"Rebooted miner {i} in rack B4"})
        elif kind == 1:
            events.append({"action": "pool.change", "category": "device", "occurred_at": at,
                           "action_type": "update",
                           "actor": {"id": "u-8", "name": "Lee Admin",
                                     "email": "lee@farm.example"},
                           "targets": [{"type": "pool", "id": "pool-main"}],
                           "changes": [{"field": "url", "old": "stratum+tcp://old.pool:3333",
                                        "new": "stratum+tcp://new.pool:4444"},
                                       {"field": "fee", "old": 1.5, "new": 1.0}],
                           "request_id": f"req-{i}", "source": {"ip": "10.0.4.8"},
                           "scope": "pools"})
        elif kind == 2:
            events.append({"action": "user.login", "category": "access", "occurred_at": at,
                           "action_type": "login", "result": "failure",
                           "reason": "bad password", "severity": "warning",
                           "actor": {"id": "u-9", "name": "Sam Night",
                                     "email": "sam@farm.example"},
                           "source": {"ip": "203.0.113.9"}})
        else:
            events.append({"action": "client.bill.update", "category": "client",
                           "occurred_at": at, "action_type": "update",
                           "actor": {"id": "u-7", "name": "Dana Ops",
                                     "email": "dana@farm.example"},
                           "targets": [{"type": "bill", "id": f"bill-{i}"}],
                           "changes": [{"field": "amount", "old": 120, "new": 135}],
                           "scope": "billing"})
    return events


def _rows(tab: Watched) -> list[dict[str, str]]:
    return tab.page.eval_on_selector_all(
        "#events tbody tr",
        """rows => rows.map(r => ({action: r.querySelector('.c-action a').textContent,
             result: r.querySelector('.c-result').textContent.trim(),
             actor: r.querySelector('.c-actor').textContent.trim(),
             ip: r.querySelector('.c-ip').textContent.trim(),
             time: r.querySelector('.c-time').textContent.trim()}))""")


def _params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_first_owner_signs_in_searches_and_signs_out(server: RunningServer,
                                                      tab: Watched) -> None:
    post_events(server, _farm_events())
    page = tab.page
    page.goto(f"{server.base_url}/logs")
    assert "/login" in page.url  # pages need a session; the sign-in page comes back here
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", "not the password at all")
    page.click("#sign-in")
    expect(page.locator("#login-error")).to_contain_text("wrong")
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/logs$"))
    expect(page.locator("#events tbody tr").first).to_be_visible()
    # times are in the viewer's zone (the browser's: Europe/Berlin), not UTC
    first_time = page.locator("#events tbody tr .c-time time").first
    iso = first_time.get_attribute("datetime")
    assert iso is not None
    shown = first_time.text_content()
    expected = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M:%S")
    assert shown == expected
    expect(page.locator(".facet").first).to_be_visible()
    shot(page, "logs")

    # the query language
    page.fill("#query", "action:miner.* -result:failure")
    page.click("#search-button")
    page.wait_for_url(re.compile(r"query="))
    rows = _rows(tab)
    assert len(rows) == 15 and {r["action"] for r in rows} == {"miner.reboot"}
    # a malformed query is answered inline, with where
    page.fill("#query", 'action:"broken')
    page.click("#search-button")
    expect(page.locator("#query-error")).to_contain_text("position 8")
    expect(page.locator("#query-error .caret")).to_have_text(re.compile(r"\^"))
    shot(page, "query-error")

    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{server.base_url}/logs")
    assert "/login" in page.url
    assert tab.errors == []


def test_filter_controls_facets_histogram_and_scrolling(server: RunningServer,
                                                        tab: Watched) -> None:
    post_events(server, _farm_events(160))
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?category=device")
    # the controls: result and action
    page.click("#filters summary")
    page.select_option("select[name=result]", "success")
    page.fill("input[name=action]", "pool.change")
    page.click("#search-button")
    page.wait_for_url(re.compile(r"result=success"))
    params = _params(page.url)
    assert params["action"] == ["pool.change"] and params["category"] == ["device"]
    assert "actor" not in params  # empty fields stay out of the URL
    rows = _rows(tab)
    assert len(rows) == 40 and {r["action"] for r in rows} == {"pool.change"}
    expect(page.locator(".chips .chip")).to_have_count(2)

    # a facet adds its filter
    page.goto(f"{server.base_url}/logs")
    page.locator('.facet[data-field="action"] button', has_text="user.login").click()
    page.wait_for_url(re.compile(r"action=user.login"))
    assert {r["action"] for r in _rows(tab)} == {"user.login"}
    assert {r["result"] for r in _rows(tab)} == {"failure"}

    # scrolling fetches the next pages by cursor
    page.goto(f"{server.base_url}/logs?category=device")
    assert len(_rows(tab)) == 50
    with page.expect_response(lambda r: "/api/v1/events?" in r.url and "cursor=" in r.url):
        page.locator("#next-page").scroll_into_view_if_needed()
    expect(page.locator("#events tbody tr")).to_have_count(80)
    ids = page.eval_on_selector_all("#events tbody tr", "rs => rs.map(r => r.dataset.id)")
    assert len(set(ids)) == 80  # no page repeated

    # brushing the histogram narrows the time range
    page.goto(f"{server.base_url}/logs")
    histogram = page.locator("#histogram svg")
    expect(histogram).to_be_visible()
    box = histogram.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 20, steps=5)
    page.mouse.up()
    page.wait_for_url(re.compile(r"since="))
    params = _params(page.url)
    since = datetime.fromisoformat(params["since"][0].replace("Z", "+00:00"))
    until = datetime.fromisoformat(params["until"][0].replace("Z", "+00:00"))
    assert since < until
    for row in page.eval_on_selector_all("#events tbody tr time",
                                         "ts => ts.map(t => t.dateTime)"):
        at = datetime.fromisoformat(row.replace("Z", "+00:00"))
        assert since <= at < until
    assert tab.errors == []


def test_event_page_diff_annotations_and_tag_search(server: RunningServer,
                                                    tab: Watched) -> None:
    post_events(server, _farm_events(8))
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?query=action:pool.change")
    page.locator("#events tbody tr .c-action a").first.click()
    page.wait_for_url(re.compile(r"/events/"))
    diff = page.locator("#diff tbody tr")
    expect(diff).to_have_count(2)
    url_row = page.locator("#diff tbody tr", has_text="url")
    expect(url_row.locator("td.old")).to_have_text("stratum+tcp://old.pool:3333")
    expect(url_row.locator("td.new")).to_have_text("stratum+tcp://new.pool:4444")
    expect(page.locator("#seal-link")).to_contain_text("matches")
    page.locator("#h-raw").click()
    expect(page.locator("#raw-json")).to_contain_text('"action": "pool.change"')
    expect(page.locator("section[aria-label='Related: same target'] tbody tr")
           ).to_have_count(1)  # the other pool.change of these 8 events

    page.fill("#tag-input", "Incident-42")
    page.click("#tag-form button[type=submit]")
    expect(page.locator("#tags .chip")).to_contain_text("#incident-42")
    page.fill("#comment-input", "Pool moved on purpose: see <ticket> OPS-17")
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#comments .comment")).to_contain_text(
        "Pool moved on purpose: see <ticket> OPS-17")
    expect(page.locator("#comments .comment")).to_contain_text(OWNER)
    event_url = page.url
    shot(page, "event", full_page=True)

    page.locator("#tags .chip a").click()
    page.wait_for_url(re.compile(r"tag%3Aincident-42"))
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator(".c-action a").click()
    assert page.url == event_url
    assert tab.errors == []


def test_export_csv_of_the_current_search(server: RunningServer, tab: Watched) -> None:
    post_events(server, _farm_events(40))
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?query=result:failure")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    raw = open(download.path(), "rb").read()  # noqa: SIM115
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 10
    assert {r["action"] for r in rows} == {"user.login"}
    assert {r["actor_email"] for r in rows} == {"sam@farm.example"}
    # times in the viewer's zone (the browser's: Europe/Berlin, +01:00 in winter)
    assert all(re.search(r"[+-]\d\d:\d\d$", r["occurred_at"]) for r in rows)
    offset = datetime.fromisoformat(rows[0]["occurred_at"]).utcoffset()
    assert offset == __import__("zoneinfo").ZoneInfo("Europe/Berlin").utcoffset(
        datetime.fromisoformat(rows[0]["occurred_at"]).replace(tzinfo=None))


def test_live_tail_shows_new_events_and_pauses(server: RunningServer, tab: Watched) -> None:
    post_events(server, _farm_events(4))
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?query=action:miner.*")
    before = len(_rows(tab))
    page.click("#live-toggle")
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(1500)  # let the stream open before the events arrive
    post_events(server, [{"action": "miner.overheat", "category": "device",
                          "actor": {"id": "sensor-1", "type": "automation"},
                          "targets": [{"type": "miner", "id": "m-live"}]},
                         {"action": "pool.change", "actor": {"id": "u-1"}}])
    fresh = page.locator("#events tbody tr.fresh")
    expect(fresh).to_have_count(1, timeout=20_000)
    expect(fresh.locator(".c-action a")).to_have_text("miner.overheat")
    assert len(_rows(tab)) == before + 1  # the pool.change did not match
    page.click("#live-toggle")  # pause
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "false")
    post_events(server, [{"action": "miner.reboot", "actor": {"id": "u-1"}}])
    page.wait_for_timeout(2500)
    assert len(_rows(tab)) == before + 1  # paused: nothing new shown
    assert tab.errors == []


def test_revoking_a_session_signs_that_browser_out(server: RunningServer, tab: Watched,
                                                   context: BrowserContext) -> None:
    add_staff(server, "ana@acme.example", "admin")
    page = tab.page
    sign_in(page, server.base_url, "ana@acme.example", STAFF_PASSWORD)
    other_context = context.browser.new_context()  # type: ignore[union-attr]
    try:
        other = watch(other_context)
        sign_in(other.page, server.base_url, "ana@acme.example", STAFF_PASSWORD)
        assert other.page.url.endswith("/logs")
        page.goto(f"{server.base_url}/access")
        sessions = page.locator("#own-sessions tbody tr")
        expect(sessions).to_have_count(2)
        expect(page.locator("#sign-ins tbody tr").first).to_contain_text("auth.login")
        shot(page, "access")
        tab.accept_confirms = True
        page.locator("#own-sessions button", has_text="Revoke").click()
        expect(sessions).to_have_count(1)
        other.page.goto(f"{server.base_url}/logs")
        assert "/login" in other.page.url
    finally:
        other_context.close()


def test_viewer_sees_masked_data_and_cannot_open_admin_pages(server: RunningServer,
                                                             tab: Watched) -> None:
    post_events(server, _farm_events(8))
    add_staff(server, "vic@acme.example", "viewer")
    page = tab.page
    sign_in(page, server.base_url, "vic@acme.example", STAFF_PASSWORD)
    page.goto(f"{server.base_url}/logs?category=device")
    nav = page.locator(".mainnav a").all_text_contents()
    assert "Users" not in nav and "API keys" not in nav
    assert {r["ip"] for r in _rows(tab)} <= {"10.0.4.x"}
    page.locator("#events tbody tr .c-action a").first.click()
    expect(page.locator(".actor-email")).to_have_text(re.compile(r"^[a-z]\*\*\*@farm\.example$"))
    expect(page.locator("#fields")).not_to_contain_text("dana@farm.example")
    expect(page.locator("#fields")).not_to_contain_text("lee@farm.example")
    assert page.locator("#tag-form").count() == 0  # viewers do not annotate
    shot(page, "event-viewer")
    response = page.goto(f"{server.base_url}/admin/users")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("users.manage")


def test_admin_pages_add_a_user_make_a_key_and_verify(server: RunningServer,
                                                      tab: Watched) -> None:
    post_events(server, _farm_events(8))
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/admin/users")
    page.fill("#add-user input[name=email]", "new.analyst@acme.example")
    page.select_option("#add-user select[name=role]", "analyst")
    page.click("#add-user button[type=submit]")
    expect(page.locator("#secret-box")).to_contain_text("One-time password")
    page.reload()
    expect(page.locator('tr[data-user="new.analyst@acme.example"]')).to_contain_text(
        "one-time password")
    shot(page, "users")

    page.goto(f"{server.base_url}/admin/keys")
    page.fill("#add-key input[name=name]", "billing-system")
    page.click("#add-key button[type=submit]")
    expect(page.locator("#secret-box")).to_contain_text("tb_")
    page.reload()
    expect(page.locator('tr[data-key="billing-system"]')).to_contain_text("active")

    page.goto(f"{server.base_url}/admin/roles")
    page.fill("#add-role input[name=name]", "billing-reader")
    page.check("#add-role input[value='events.read']")
    page.check("#add-role input[name=categories][value='client']")
    page.click("#add-role button[type=submit]")
    expect(page.locator('tr[data-role="billing-reader"]')).to_contain_text("client")

    page.goto(f"{server.base_url}/admin/integrity")
    expect(page.locator("#last-verification")).to_contain_text("never")
    page.click("#verify-now")
    expect(page.locator("#verify-result")).to_contain_text("Intact")
    expect(page.locator("#last-verification")).to_contain_text("intact", timeout=10_000)
    shot(page, "integrity")
    assert tab.errors == []


XSS_PAYLOADS = ['<script>alert("xss-script")</script>', '" onmouseover="alert(1)" x="',
                "javascript:alert('xss-js')", "<img src=x onerror=alert('xss-img')>",
                "</script><script>alert(2)</script>"]


def test_event_content_never_runs_script(server: RunningServer, tab: Watched) -> None:
    events = [{"action": "client.note.add", "category": "client",
               "actor": {"id": payload[:60], "name": payload, "email": "x@evil.example"},
               "targets": [{"type": "note", "id": f"n-{i}", "name": payload}],
               "description": payload, "scope": payload[:64],
               "changes": [{"field": payload[:100], "old": payload, "new": {"html": payload}}],
               "metadata": {"link": payload}}
              for i, payload in enumerate(XSS_PAYLOADS)]
    post_events(server, events)
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?category=client")
    expect(page.locator("#events tbody tr")).to_have_count(len(XSS_PAYLOADS))
    page.locator(".facet").first.wait_for()
    for cell in page.locator("#events tbody .c-actor").all():
        cell.hover()
    names = page.locator("#events tbody .c-actor").all_text_contents()
    assert sorted(names) == sorted(XSS_PAYLOADS)  # shown as text, exactly
    for i in range(len(XSS_PAYLOADS)):
        page.goto(f"{server.base_url}/logs?category=client")
        page.locator("#events tbody tr .c-action a").nth(i).click()
        page.wait_for_url(re.compile(r"/events/"))
        page.locator("#h-raw").click()
        for link in page.locator("main a").all():
            href = link.get_attribute("href") or ""
            assert not href.lower().startswith("javascript:")
        page.hover("#diff")
    # the live tail renders through the same text-only path
    page.goto(f"{server.base_url}/logs?category=client")
    page.click("#live-toggle")
    page.wait_for_timeout(1500)
    post_events(server, [{**events[0], "targets": [{"type": "note", "id": "n-live"}]}])
    expect(page.locator("#events tbody tr.fresh")).to_have_count(1, timeout=20_000)
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    assert tab.dialogs == []
    assert not [e for e in tab.errors if "xss" in e]


def test_phone_width_and_dark_theme(server: RunningServer, context: BrowserContext) -> None:
    post_events(server, _farm_events(20))
    phone = context.browser.new_context(  # type: ignore[union-attr]
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        tab = watch(phone)
        page = tab.page
        sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
        expect(page.locator("#events tbody tr").first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1  # nothing wider than the phone
        shot(page, "logs-phone", full_page=False)
        page.click("[data-theme-toggle]")
        theme = page.evaluate("document.documentElement.getAttribute('data-theme')")
        assert theme in ("dark", "light")
        page.reload()
        assert page.evaluate("document.documentElement.getAttribute('data-theme')") == theme
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(17, 20, 24)" if theme == "dark" else "rgb(246, 247, 249)")
        # the keyboard: "/" goes to the query box
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "query"
        assert tab.errors == []
    finally:
        phone.close()
