"""Console benchmark: how soon the logs page shows its first results, in a real browser,
over a large trail; and how long scrolling takes to fetch the next page by cursor.

    .venv/bin/python bench/console.py --events 1000000

The trail is the search benchmark's (bench/search.py: demo events of the five back
offices over 180 days, cached under bench/.cache/). A real `trailbook serve` serves it;
Debian's chromium, driven by Playwright, signs in and opens each search --runs times.
"First results" is from asking for the page until its first result row is in the
document; "facets" until the facets and histogram (fetched by the page afterwards) are
drawn; "next page" from scrolling to the end of the table until the next page's rows
are in. Prints a Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

import httpx
from playwright.sync_api import Page, sync_playwright
from search import CACHE, open_trail  # bench/search.py: the cached trail

from trailbook.service.access.audit import CLI

OWNER = ("bench-owner@example.com", "bench owner password 1")
SEARCHES = {
    "newest, every category": "/logs",
    "one category tab (device)": "/logs?category=device",
    "last 24 hours": "/logs?last=24h",
    "query: action prefix + failure": "/logs?query=action%3Aminer.*+result%3Afailure",
    "query: a word": "/logs?query=firmware",
    "query: a phrase": "/logs?query=%22pool+change%22",
    "filter controls: result + severity": "/logs?result=failure&severity=warning",
}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def _timed_open(page: Page, url: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector("#events tbody tr, #no-results", state="attached")
    first = (time.perf_counter() - started) * 1000
    page.wait_for_selector("#facets[aria-busy='false']", state="attached", timeout=60_000)
    facets = (time.perf_counter() - started) * 1000
    rows = page.locator("#events tbody tr").count()
    return first, facets, rows


def _timed_scroll(page: Page) -> float | None:
    if page.locator("#next-page").count() == 0:
        return None
    before = page.locator("#events tbody tr").count()
    started = time.perf_counter()
    page.locator("#next-page").scroll_into_view_if_needed()
    page.wait_for_selector(f"#events tbody tr:nth-child({before + 1})", state="attached")
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    tb, tenant = open_trail(args.events, None)
    try:
        if not any(u.email == OWNER[0] for u in tb.users.all(tenant)):
            tb.users.add(tenant, OWNER[0], "Bench Owner", "owner", OWNER[1], by=None,
                         context=CLI)
        head = tb.store.chain_head(tenant.id)
    finally:
        tb.close()
    data = CACHE / f"search-{args.events}"
    port = _port()
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data)}
    server = subprocess.Popen([sys.executable, "-m", "trailbook", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login")
            page.fill("input[name=email]", OWNER[0])
            page.fill("input[name=password]", OWNER[1])
            page.click("#sign-in")
            page.wait_for_url("**/logs")
            _timed_open(page, f"{base}/logs")  # warm the page cache once
            print(f"\n`.venv/bin/python bench/console.py --events {args.events} "
                  f"--runs {args.runs}` — {head.seq if head else 0:,} events on SQLite, "
                  f"{platform.machine()}, Python {platform.python_version()}, chromium "
                  f"{browser.version}\n")
            print("| search | rows on first page | first results p50 / p95 (ms) "
                  "| facets + histogram p50 / p95 (ms) | next page by cursor p50 / p95 (ms) |")
            print("|---|---:|---:|---:|---:|")
            for name, path in SEARCHES.items():
                firsts, facets, scrolls, rows = [], [], [], 0
                for _ in range(args.runs):
                    first, facet, rows = _timed_open(page, base + path)
                    firsts.append(first)
                    facets.append(facet)
                    scrolled = _timed_scroll(page)
                    if scrolled is not None:
                        scrolls.append(scrolled)
                scroll = (f"{statistics.median(scrolls):.0f} / {_pct(scrolls, 0.95):.0f}"
                          if scrolls else "—")
                print(f"| {name} | {rows} | {statistics.median(firsts):.0f} / "
                      f"{_pct(firsts, 0.95):.0f} | {statistics.median(facets):.0f} / "
                      f"{_pct(facets, 0.95):.0f} | {scroll} |", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
