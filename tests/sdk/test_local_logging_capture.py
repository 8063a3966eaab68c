"""Client.local, the logging handler and trailbook.testing.capture()."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from trailbook.sdk import AsyncClient, AuditHandler, Client, InvalidEvent, context
from trailbook.sdk.testing import capture
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def test_local_client_writes_a_verifiable_trail(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    client = Client.local(folder)
    with context(actor="script"):
        keys = [client.log("backup.run", metadata={"n": i}) for i in range(1203)]
    client.log("doc.update", actor="u-1", category="nosuch")  # refused by the store
    client.close()
    assert client.stats.sent == 1203 and client.stats.failed == 1
    verify = subprocess.run(
        [sys.executable, "-m", "trailbook", "verify", "--tenant", "default", "--json"],
        env={**os.environ, "TRAILBOOK_DATA_DIR": str(folder)}, capture_output=True,
        text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with Trailbook.open(load_settings(data_dir=folder), migrate=False) as tb:
        tenant = tb.tenants.get("default")
        rows = list(tb.store.iter_chain(tenant.id))
        assert tb.integrity.verify(tenant).ok
    assert [r.idempotency_key for r in rows if r.action == "backup.run"] == keys


def test_logging_handler_turns_audit_records_into_events() -> None:
    client = Client.__new__(Client)
    logger = logging.getLogger("tests.sdk.audit")
    logger.setLevel(logging.DEBUG)
    handler = AuditHandler(client)
    logger.addHandler(handler)
    try:
        with capture() as events, context(actor="u-1"):
            logger.info("Refunded order %s", 7, extra={"audit": {
                "action": "payment.refund", "targets": [("order", "7")]}})
            logger.error("Card declined", extra={"audit": {
                "action": "payment.charge", "result": "failure", "reason": "declined"}})
            logger.warning("plain record")  # no audit extra: ignored
            logger.debug("too low", extra={"audit": {"action": "x.y"}})  # below INFO
            logger.info("explicit", extra={"audit": {
                "action": "doc.note", "description": "given", "severity": "notice"}})
    finally:
        logger.removeHandler(handler)
    assert events.actions == ["payment.refund", "payment.charge", "doc.note"]
    refund = events.one("payment.refund")
    assert (refund["description"], refund["severity"]) == ("Refunded order 7", "info")
    assert refund["targets"] == [{"type": "order", "id": "7"}]
    assert events.one("payment.charge")["severity"] == "critical"
    assert (events[2]["description"], events[2]["severity"]) == ("given", "notice")


def test_capture_records_instead_of_sending(tmp_path: Path) -> None:
    hits: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hits.append(request)
        return httpx.Response(201, json={})

    client = Client("http://audit.invalid", "k", transport=httpx.MockTransport(answer),
                    spool_path=tmp_path / "s.db", flush_interval=0.01)
    async_client = AsyncClient("http://audit.invalid", "k", spool=False,
                               transport=httpx.MockTransport(answer))
    local = Client.local(tmp_path / "local")
    with capture() as events:
        client.log("a.one", actor="u-1")
        async_client.log("a.two", actor="u-2", metadata={"x": 1})
        local.log("a.three", actor="u-3")
        with pytest.raises(InvalidEvent):  # validated as for real
            client.log("a.four", actor="u-1", severity="loud")
        with capture() as inner:
            client.log("a.inner", actor="u-1")
    assert events.actions == ["a.one", "a.two", "a.three"]
    assert inner.actions == ["a.inner"]
    assert events.find(action="a.*", actor="u-2")[0]["metadata"] == {"x": 1}
    assert len(events.find("a.one")) == 1
    with pytest.raises(AssertionError):
        events.one("a.none")
    assert client.flush(timeout=10)
    assert hits == [] and client.stats.queued == 0 and local.stats.queued == 0
    client.close()
    async_client.client.close()
    local.close()
