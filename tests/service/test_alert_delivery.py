"""Alerts end to end through the service layer, on both backends, against real servers
on loopback: a rule fires on stored events and its message reaches an SMTP server
(aiosmtpd), Slack, Telegram and a signed webhook; a receiver that is down (refused,
then 500s, then too slow) gets every alert once it is back, across a restart of
Trailbook, duplicates carrying the same delivery id; a refusal is a dead letter that a
retry sends; threshold rules raise one alert and one summary per storm."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import CHEAP_PASSWORDS
from notify.loopback import Reply, free_port, http_receiver, smtp_server
from trailbook.model.event import convert_event
from trailbook.model.timefmt import now_us
from trailbook.notify.channels import verify_signature
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI
from trailbook.service.alerts import RuleSpec
from trailbook.service.app import Trailbook
from trailbook.settings import Settings, load_settings
from trailbook.store.records import Tenant

SECRET = "whsec-test-secret"
TOKEN = "123456:AAbbCCddEEffGGhhIIjjKKll"


def _settings(data_dir: Path, database_url: str | None, **more: Any) -> Settings:
    return load_settings(
        data_dir=data_dir, database_url=database_url, checkpoint_every_events=100,
        console_url="https://audit.example.com", alert_backoff_base_seconds=0.01,
        alert_backoff_max_seconds=0.02, alert_http_timeout_seconds=0.5,
        alert_smtp_timeout_seconds=5, **CHEAP_PASSWORDS, **more)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_tb(data_dir: Path, database_url: str | None) -> Iterator[Any]:
    opened: list[Trailbook] = []

    def make(**more: Any) -> Trailbook:
        tb = Trailbook.open(_settings(data_dir, database_url, **more))
        opened.append(tb)
        return tb

    yield make
    for tb in opened:
        tb.close()


def ingest(tb: Trailbook, tenant: Tenant, *events: dict[str, Any]) -> list[str]:
    return [a.id for a in tb.events.ingest(tenant, [convert_event(e) for e in events])]


def critical(i: int) -> dict[str, Any]:
    return {"action": "bonus.manual_assign", "category": "admin", "severity": "critical",
            "actor": {"id": "u-7", "name": "Dana Ops", "email": "dana@casino.example"},
            "targets": [{"type": "player", "id": f"p-{i}", "name": f"Player {i}"}],
            "source": {"ip": "203.0.113.7"}, "description": f"bonus {i}"}


def rounds(tb: Trailbook, times: int = 1) -> None:
    for _ in range(times):
        assert asyncio.run(tb.alert_runner.round())


def trail(tb: Trailbook, tenant: Tenant, action: str) -> list[dict[str, Any]]:
    page = tb.events.search(tenant, EventFilter(actions=(action,)), None, 500)
    return [orjson.loads(e.doc) for e in page.events]


def test_a_rule_reaches_every_kind_of_channel(open_tb: Any) -> None:
    with http_receiver() as web, http_receiver() as slack, \
            http_receiver(Reply(200, b'{"ok": true, "result": {}}')) as telegram, \
            smtp_server() as smtp:
        tb = open_tb(telegram_api_url=telegram.url)
        tenant = tb.tenants.create("casino")
        admin = tb.alerts
        admin.add_channel(None, tenant, "hooks", "webhook",
                          {"url": f"{web.url}/trailbook", "secret": SECRET}, CLI)
        admin.add_channel(None, tenant, "slack", "slack",
                          {"webhook_url": f"{slack.url}/services/T0/B0/x"}, CLI)
        admin.add_channel(None, tenant, "tg", "telegram",
                          {"bot_token": TOKEN, "chat_id": "-100200"}, CLI)
        admin.add_channel(None, tenant, "mail", "email", {
            "host": smtp.host, "port": smtp.port, "security": "none",
            "from": "trailbook@casino.example", "to": ["oncall@casino.example"]}, CLI)
        admin.add_rule(None, tenant, RuleSpec(
            "Manual bonuses", "action:bonus.manual_assign severity:critical",
            channels=("hooks", "slack", "tg", "mail")), CLI)
        rounds(tb)  # the first round sets the cursor at the head: nothing before counts
        [event_id] = ingest(tb, tenant, critical(1))
        rounds(tb)

        [hook] = web.requests
        body = hook.json()
        assert verify_signature(SECRET, hook.headers["trailbook-timestamp"], hook.body,
                                hook.headers["trailbook-signature"])
        assert hook.headers["trailbook-delivery"] == body["delivery_id"]
        assert body["event_ids"] == [event_id] and body["rule"] == "Manual bonuses"
        assert body["link"] == f"https://audit.example.com/events/{event_id}"
        assert "Dana Ops" in body["text"] and "bonus.manual_assign" in body["text"]
        assert "Player 1" in body["text"] and "203.0.113.7" in body["text"]
        assert "Dana Ops" in slack.requests[0].json()["text"]
        sent = telegram.requests[0]
        assert sent.path == f"/bot{TOKEN}/sendMessage"
        assert sent.json()["chat_id"] == -100200 and "bonus.manual_assign" in sent.json()["text"]
        [mail] = smtp.received
        assert mail.rcpt_tos == ["oncall@casino.example"]
        assert "Manual bonuses" in mail.message["Subject"]
        text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"https://audit.example.com/events/{event_id}" in text

        deliveries = admin.deliveries(None, tenant, None)
        assert {d.state for d in deliveries} == {"delivered"} and len(deliveries) == 4
        recorded = trail(tb, tenant, "alert.delivered")
        assert sorted(r["metadata"]["delivery_id"] for r in recorded) == sorted(
            d.id for d in deliveries)
        assert all(r["category"] == "system" for r in recorded)
        # The notifier's own events never match a rule: nothing more was sent.
        rounds(tb, 2)
        assert len(web.requests) == 1


def test_a_receiver_down_for_a_while_gets_every_alert_across_a_restart(open_tb: Any) -> None:
    port = free_port()
    tb = open_tb()
    tenant = tb.tenants.create("casino")
    tb.alerts.add_channel(None, tenant, "hooks", "webhook",
                          {"url": f"http://127.0.0.1:{port}/in", "secret": SECRET}, CLI)
    tb.alerts.add_rule(None, tenant, RuleSpec("Critical", "severity:critical",
                                              quiet_seconds=0, channels=("hooks",)), CLI)
    rounds(tb)
    ids = ingest(tb, tenant, critical(1), critical(2), critical(3))
    rounds(tb)  # connection refused
    waiting = tb.alerts.deliveries(None, tenant, "pending")
    assert len(waiting) == 3 and all(d.attempts == 1 for d in waiting)
    assert all("refused" in (d.last_error or "").lower() or "connect" in
               (d.last_error or "").lower() for d in waiting)
    tb.close()

    # Trailbook restarts; the receiver comes back answering 500s, then hanging past
    # the timeout, then 200.
    with http_receiver(Reply(500), Reply(500), Reply(500), Reply(hang=True), Reply(200),
                       port=port) as web:
        tb = open_tb()
        tenant = tb.tenants.get("casino")
        for _ in range(40):
            if not tb.alerts.deliveries(None, tenant, "pending"):
                break
            rounds(tb)
            asyncio.run(asyncio.sleep(0.03))
        done = tb.alerts.deliveries(None, tenant, None)
        assert {d.state for d in done} == {"delivered"}, [(d.state, d.last_error)
                                                         for d in done]
        by_delivery: dict[str, set[str]] = {}
        for request in web.requests:
            body = request.json()
            assert request.headers["trailbook-delivery"] == body["delivery_id"]
            by_delivery.setdefault(body["delivery_id"], set()).update(body["event_ids"])
        # Every alert arrived; a repeat carried the same delivery id and event.
        assert set(by_delivery) == {d.id for d in done}
        assert sorted(i for ids_ in by_delivery.values() for i in ids_) == sorted(ids)
        assert len(web.requests) > 3
    failed = trail(tb, tenant, "alert.failed")
    assert failed and all(f["result"] == "failure" and f["severity"] == "warning"
                          for f in failed)


def test_a_refusal_is_a_dead_letter_that_a_retry_sends(open_tb: Any) -> None:
    with http_receiver(Reply(403, b"forbidden"), Reply(200)) as web:
        tb = open_tb()
        tenant = tb.tenants.create("casino")
        tb.alerts.add_channel(None, tenant, "hooks", "webhook",
                              {"url": web.url, "secret": SECRET}, CLI)
        tb.alerts.add_rule(None, tenant, RuleSpec("Critical", "severity:critical",
                                                  channels=("hooks",)), CLI)
        rounds(tb)
        ingest(tb, tenant, critical(1))
        rounds(tb, 2)
        [dead] = tb.alerts.deliveries(None, tenant, "dead")
        assert "403" in (dead.last_error or "") and dead.attempts == 1
        [recorded] = trail(tb, tenant, "alert.dead")
        assert recorded["severity"] == "critical"
        again = tb.alerts.retry(None, tenant, dead.id, CLI)
        assert again.state == "pending"
        rounds(tb)
        assert tb.alerts.delivery(None, tenant, dead.id).state == "delivered"
        assert [r.json()["delivery_id"] for r in web.requests] == [dead.id, dead.id]


def test_threshold_rules_raise_one_alert_and_one_summary(open_tb: Any) -> None:
    with http_receiver() as web:
        tb = open_tb()
        tenant = tb.tenants.create("casino")
        tb.alerts.add_channel(None, tenant, "hooks", "webhook",
                              {"url": web.url, "secret": SECRET}, CLI)
        tb.alerts.add_rule(None, tenant, RuleSpec(
            "Password guessing", "action:user.login result:failure", threshold=5,
            window_seconds=600, group_by="source.ip", quiet_seconds=60,
            channels=("hooks",)), CLI)
        rounds(tb)

        def failures(n: int, ip: str, start: int = 0) -> list[dict[str, Any]]:
            return [{"action": "user.login", "category": "access", "result": "failure",
                     "reason": "bad password", "actor": {"id": f"u-{i}"},
                     "source": {"ip": ip}} for i in range(start, start + n)]

        ingest(tb, tenant, *failures(4, "198.51.100.4"))
        rounds(tb)
        assert web.requests == []  # 4 raise none
        ingest(tb, tenant, *failures(1, "198.51.100.4", 4))
        rounds(tb)
        [alert] = [r.json() for r in web.requests]  # the 5th raises exactly one
        assert alert["kind"] == "alert" and alert["count"] == 5

        # A storm of 1,000 from another address: one alert, then one summary when the
        # quiet period ends.
        ingest(tb, tenant, *failures(1000, "192.0.2.66"))
        rounds(tb)
        storm = [r.json() for r in web.requests[1:]]
        assert [m["kind"] for m in storm] == ["alert"]
        tb.alert_evaluator.run_pass(now=now_us() + 61_000_000)
        rounds(tb)
        summaries = [r.json() for r in web.requests[2:]]
        assert [(m["kind"], m["count"]) for m in summaries] == [("summary", 995)]
        # (the first address's quiet period ended too, with nothing suppressed: silent)
