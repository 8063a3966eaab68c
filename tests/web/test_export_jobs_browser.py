"""A large export from the console, in a real browser: the Export button of a search
over ``export_background_rows`` leads to the exports page, which follows the job's
progress until it is done and then offers the file and its manifest."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from conftest import SERVER_OWNER, RunningServer
from web.conftest import Watched, post_events, shot, sign_in

pytestmark = pytest.mark.browser
OWNER, OWNER_PASSWORD = SERVER_OWNER


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"export_background_rows": "25"}


def test_a_large_export_runs_in_the_background(server: RunningServer, tab: Watched) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    post_events(server, [{"action": "miner.reboot", "category": "device",
                          "occurred_at": (start + timedelta(minutes=i)).isoformat(),
                          "actor": {"id": f"u-{i % 3}"},
                          "targets": [{"type": "miner", "id": f"m-{i}"}]}
                         for i in range(60)])
    page = tab.page
    sign_in(page, server.base_url, OWNER, OWNER_PASSWORD)
    page.goto(f"{server.base_url}/logs?query=action:miner.reboot")
    page.click("#export-csv")
    page.wait_for_url(re.compile(r"/exports\?job=[0-9a-f]{32}$"))
    job_id = page.url.rsplit("=", 1)[1]
    row = page.locator(f'tr[data-job="{job_id}"]')
    expect(row).to_have_class(re.compile("chosen"))
    # The page follows the job and shows its downloads when it is done.
    download_link = row.get_by_role("link", name="Download")
    expect(download_link).to_be_visible(timeout=30_000)
    expect(row.locator('[data-field="state"]')).to_have_text("done")
    expect(row).to_contain_text("60 of 60 rows")
    shot(page, "exports")
    with page.expect_download() as info:
        download_link.click()
    raw = open(info.value.path(), "rb").read()  # noqa: SIM115
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 60 and {r["action"] for r in rows} == {"miner.reboot"}
    with page.expect_download() as info:
        row.get_by_role("link", name="Manifest").click()
    manifest = json.loads(open(info.value.path(), "rb").read())  # noqa: SIM115
    assert manifest["manifest"]["export_id"] == job_id
    assert manifest["manifest"]["rows"] == 60
    # Removing it takes the file away.
    tab.accept_confirms = True
    row.get_by_role("button", name="Remove").click()
    expect(page.locator(f'tr[data-job="{job_id}"]')).to_have_count(0)
    assert tab.errors == []
