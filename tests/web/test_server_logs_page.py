"""The server logs page: the tail of the chosen file filtered by level (escaped as
text), download links, delete buttons only for rotated copies and only for those who
may delete, and the levels form (disabled for readers)."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from staff_helpers import add_user
from trailbook.api.app import create_app
from trailbook.logs.setup import install, uninstall
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant
from web.test_pages import page_login

ROTATED = "notify.2026-11-22.1.log.gz"


@pytest.fixture
def folder(tb: Trailbook) -> Iterator[Path]:
    installed = install(tb.settings)
    log = logging.getLogger("trailbook.notify")
    log.info("delivered <script>alert(1)</script>")
    log.error("webhook failed")
    with gzip.open(installed.folder / ROTATED, "wt") as handle:
        handle.write("2026-11-22T10:00:00.000000Z ERROR [1] trailbook.notify: old failure\n")
    yield installed.folder
    uninstall()


@pytest.fixture
def app(tb: Trailbook) -> FastAPI:
    return create_app(tb)


def test_owner_sees_tail_files_and_the_forms(app: FastAPI, tb: Trailbook, tenant: Tenant,
                                             folder: Path) -> None:
    add_user(tb, tenant, "owner@acme.example", "owner")
    http = page_login(app, "owner@acme.example")
    html = http.get("/admin/logs?file=notify.log").text
    assert 'href="/admin/logs"' in html  # in the menu
    assert "delivered &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "webhook failed" in html
    assert 'href="/api/v1/server-logs/notify.log" download' in html
    assert f'data-api="DELETE /api/v1/server-logs/{ROTATED}"' in html
    assert 'data-api="DELETE /api/v1/server-logs/notify.log"' not in html  # live
    assert 'name="level.notify"' in html and "/static/server_logs.js" in html
    filtered = http.get("/admin/logs?file=notify.log&level=ERROR").text
    assert "webhook failed" in filtered and "delivered" not in filtered
    rotated = http.get(f"/admin/logs?file={ROTATED}").text
    assert "old failure" in rotated


def test_auditor_reads_but_cannot_delete_or_change(app: FastAPI, tb: Trailbook,
                                                   tenant: Tenant, folder: Path) -> None:
    add_user(tb, tenant, "auditor@acme.example", "auditor")
    http = page_login(app, "auditor@acme.example")
    html = http.get("/admin/logs?file=notify.log&level=nonsense&lines=7").text
    assert "webhook failed" in html
    assert "data-api=\"DELETE" not in html
    assert 'name="level.notify" disabled' in html
    assert "needs the logs.delete permission" in html
