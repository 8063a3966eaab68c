"""Deliveries to real servers on loopback: an SMTP server (aiosmtpd) and HTTP servers
standing in for Slack, Telegram and a webhook receiver; and how failures are told
apart (retry, retry after N seconds, give up)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notify.loopback import (
    Reply,
    SmtpServer,
    free_port,
    http_receiver,
    self_signed_certificate,
    smtp_server,
)
from trailbook.notify.channels import DeliveryFailed, send, verify_signature
from trailbook.notify.message import Message, alert_message
from trailbook.notify.records import Channel, ChannelKind, Rule
from trailbook.settings import Settings, load_settings

pytestmark = pytest.mark.anyio
TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-Mw"
SECRET = "webhook-secret-0123456789"
DELIVERY = "0190b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings() -> Settings:
    return load_settings(console_url="https://audit.example.com",
                         alert_http_timeout_seconds=0.5, alert_smtp_timeout_seconds=5)


def channel(kind: ChannelKind, config: dict[str, Any]) -> Channel:
    return Channel(id=1, tenant_id=1, name="ops", kind=kind, config=config,
                   created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")


def message(name: str = "Mallory <script>alert(1)</script> & co") -> Message:
    rule = Rule(id=1, tenant_id=1, name="Failed logins", query="result:failure",
                threshold=2, window_seconds=60, group_by=None, quiet_seconds=0,
                channels=(1,), enabled=True, created_at="", updated_at="")
    docs = [{"id": f"evt-{n}", "seq": n, "occurred_at": f"2026-03-04T05:06:0{n}Z",
             "category": "auth", "action": "user.login", "result": "failure",
             "severity": "critical", "actor": {"id": "m", "name": name, "type": "user"},
             "targets": [{"type": "account", "id": "7"}], "source": {"ip": "198.51.100.4"},
             "description": "<b>bad</b> password"} for n in (1, 2)]
    return alert_message("acme", rule, docs, 2, "https://audit.example.com")


async def failure(kind: ChannelKind, config: dict[str, Any], settings: Settings
                  ) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        await send(channel(kind, config), message(), DELIVERY, settings)
    return caught.value


# --- email -----------------------------------------------------------------------

def email_config(server: SmtpServer, **changes: Any) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "security": "none",
            "from": "alerts@example.com", "to": ["ops@example.com", "sec@example.org"],
            **changes}


async def test_email_arrives_with_its_delivery_id(settings: Settings) -> None:
    with smtp_server() as server:
        await send(channel("email", email_config(server)), message(), DELIVERY, settings)
    [mail] = server.received
    assert mail.mail_from == "alerts@example.com"
    assert mail.rcpt_tos == ["ops@example.com", "sec@example.org"]
    m = mail.message
    assert m["Message-ID"] == f"<{DELIVERY}@trailbook>"
    assert m["X-Trailbook-Delivery"] == DELIVERY
    assert m["Subject"] == "[Trailbook critical] Failed logins: 2 matching events"
    assert m["To"] == "ops@example.com, sec@example.org"
    plain, html = m.get_body(("plain",)), m.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert ("2026-03-04 05:06:01 UTC Mallory <script>alert(1)</script> & co did user.login "
            "(failure) to account:7 from 198.51.100.4") in text
    assert "https://audit.example.com/logs?query=result%3Afailure" in text
    page = html.get_content()
    assert "<script>" not in page and "<b>bad</b>" not in page
    assert "Mallory &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "&lt;b&gt;bad&lt;/b&gt; password" in page
    assert 'href="https://audit.example.com/events/evt-1"' in page


@pytest.fixture
def trusted_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                        ) -> Iterator[tuple[Path, Path]]:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts it
    yield cert, key


async def test_email_over_starttls_with_credentials(
        settings: Settings, trusted_certificate: tuple[Path, Path]) -> None:
    with smtp_server(credentials=("alerts", "pw"), tls=trusted_certificate) as server:
        config = email_config(server, security="starttls", username="alerts", password="pw")
        await send(channel("email", config), message(), DELIVERY, settings)
        config["password"] = "wrong"
        refused = await failure("email", config, settings)
    # The client tries each mechanism the server offers before it gives up.
    assert server.logins[0] == ("alerts", "pw")
    assert set(server.logins[1:]) == {("alerts", "wrong")}
    assert len(server.received) == 1
    assert refused.permanent and "535" in refused.reason


async def test_email_over_implicit_tls(settings: Settings,
                                       trusted_certificate: tuple[Path, Path]) -> None:
    with smtp_server(credentials=("alerts", "pw"), tls=trusted_certificate,
                     implicit_tls=True) as server:
        config = email_config(server, security="tls", username="alerts", password="pw")
        await send(channel("email", config), message(), DELIVERY, settings)
    assert server.logins == [("alerts", "pw")]
    assert [m.message["Message-ID"] for m in server.received] == [f"<{DELIVERY}@trailbook>"]


async def test_email_tls_to_an_untrusted_certificate_is_retried(
        settings: Settings, tmp_path: Path) -> None:
    untrusted = self_signed_certificate(tmp_path)  # not in SSL_CERT_FILE
    with smtp_server(tls=untrusted, implicit_tls=True) as server:
        failed = await failure("email", email_config(server, security="tls"), settings)
    assert not failed.permanent and "CERTIFICATE_VERIFY_FAILED" in failed.reason
    assert server.received == []


async def test_email_starttls_refused_by_a_plain_server_is_permanent(
        settings: Settings) -> None:
    with smtp_server() as server:
        failed = await failure("email", email_config(server, security="starttls"), settings)
    assert failed.permanent and "STARTTLS" in failed.reason
    assert server.received == []


@pytest.mark.parametrize(("reply", "permanent"), [
    ("550 5.1.1 No such user", True), ("451 4.3.0 Try again later", False)])
async def test_email_refused_recipients(settings: Settings, reply: str,
                                        permanent: bool) -> None:
    with smtp_server(rcpt_reply=reply) as server:
        failed = await failure("email", email_config(server), settings)
    assert failed.permanent is permanent
    assert reply.split()[0] in failed.reason
    assert server.received == []


async def test_email_without_a_server_is_retried(settings: Settings) -> None:
    config = {"host": "127.0.0.1", "port": free_port(), "security": "none",
              "from": "alerts@example.com", "to": ["ops@example.com"]}
    failed = await failure("email", config, settings)
    assert not failed.permanent and failed.retry_after is None


# --- Slack -----------------------------------------------------------------------

async def test_slack_gets_escaped_text_and_blocks(settings: Settings) -> None:
    with http_receiver() as slack:
        url = f"{slack.url}/services/T0/B0/XYZ"
        await send(channel("slack", {"webhook_url": url}), message("<!channel>"),
                   DELIVERY, settings)
    [request] = slack.requests
    assert request.path == "/services/T0/B0/XYZ"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["text"].startswith("Failed logins: 2 matching events\n")
    assert "<!channel>" not in str(body) and "&lt;!channel&gt; did user.login" in body["text"]
    header, section, context = body["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Failed logins: 2 matching events"}
    assert section["text"]["text"].count("did user.login") == 2
    assert "<https://audit.example.com/logs?query=result%3Afailure|Open in Trailbook>" in (
        context["elements"][0]["text"])


# --- Telegram --------------------------------------------------------------------

async def test_telegram_send_message(settings: Settings) -> None:
    with http_receiver(Reply(200, b'{"ok": true, "result": {}}')) as api:
        local = settings.model_copy(update={"telegram_api_url": api.url})
        await send(channel("telegram", {"bot_token": TOKEN, "chat_id": "-100200"}),
                   message(), DELIVERY, local)
    [request] = api.requests
    assert request.path == f"/bot{TOKEN}/sendMessage"
    body = request.json()
    assert body["chat_id"] == -100200 and body["disable_web_page_preview"] is True
    assert body["text"].startswith("Failed logins: 2 matching events\n")
    assert "Mallory <script>alert(1)</script> & co did user.login" in body["text"]
    assert body["text"].endswith("https://audit.example.com/logs?query=result%3Afailure")


@pytest.mark.parametrize(("reply", "permanent", "retry_after"), [
    (Reply(429, b'{"ok": false, "error_code": 429, "description": "Too Many Requests: '
                b'retry after 3", "parameters": {"retry_after": 3}}'), False, 3.0),
    (Reply(403, b'{"ok": false, "error_code": 403, "description": "Forbidden: bot was '
                b'blocked by the user"}'), True, None),
    (Reply(200, b'{"ok": false, "error_code": 400, "description": "Bad Request: chat '
                b'not found"}'), True, None),
    (Reply(502, b"<html>Bad Gateway</html>"), False, None),
])
async def test_telegram_failures(settings: Settings, reply: Reply, permanent: bool,
                                 retry_after: float | None) -> None:
    with http_receiver(reply) as api:
        local = settings.model_copy(update={"telegram_api_url": api.url})
        failed = await failure("telegram", {"bot_token": TOKEN, "chat_id": 5}, local)
    assert failed.permanent is permanent and failed.retry_after == retry_after
    assert TOKEN not in failed.reason and TOKEN.split(":")[1] not in failed.reason
    assert failed.reason.startswith("Telegram answered")


# --- webhook ---------------------------------------------------------------------

async def test_webhook_body_is_signed(settings: Settings) -> None:
    config = {"url": "", "secret": SECRET, "headers": {"Authorization": "Bearer t"}}
    with http_receiver(Reply(204, b"")) as receiver:
        config["url"] = f"{receiver.url}/hooks/trailbook"
        await send(channel("webhook", config), message(), DELIVERY, settings)
        await send(channel("webhook", config), message(), DELIVERY, settings)  # a retry
    first, again = receiver.requests
    assert first.path == "/hooks/trailbook"
    headers = first.headers
    assert headers["trailbook-delivery"] == DELIVERY == again.headers["trailbook-delivery"]
    assert headers["authorization"] == "Bearer t"
    timestamp, signature = headers["trailbook-timestamp"], headers["trailbook-signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, first.body, signature)
    assert not verify_signature("another-secret-123", timestamp, first.body, signature)
    assert not verify_signature(SECRET, timestamp, first.body + b" ", signature)
    assert not verify_signature(SECRET, str(int(timestamp) + 1), first.body, signature)
    assert not verify_signature(SECRET, timestamp, first.body, signature,
                                now=int(timestamp) + 301)
    body = first.json()
    assert body["delivery_id"] == DELIVERY and body["kind"] == "alert"
    assert body["event_ids"] == ["evt-1", "evt-2"] and body["count"] == 2
    assert (body["tenant"], body["rule"], body["severity"]) == (
        "acme", "Failed logins", "critical")
    assert [e["id"] for e in body["events"]] == ["evt-1", "evt-2"]
    assert body["events"][0]["actor"] == "Mallory <script>alert(1)</script> & co"
    assert body["link"] == "https://audit.example.com/logs?query=result%3Afailure"
    assert abs(int(timestamp) - time.time()) < 3600 and body["sent_at"].endswith("Z")


@pytest.mark.parametrize(("reply", "permanent", "retry_after"), [
    (Reply(500, b"oops"), False, None),
    (Reply(503, b"", {"Retry-After": "12"}), False, 12.0),
    (Reply(429, b"slow down", {"Retry-After": "7"}), False, 7.0),
    (Reply(408, b""), False, None),
    (Reply(400, b"bad"), True, None),
    (Reply(403, b"forbidden"), True, None),
    (Reply(404, b"no such hook"), True, None),
    (Reply(301, b"", {"Location": "https://elsewhere.example.com/"}), True, None),
])
async def test_webhook_answers_are_classified(settings: Settings, reply: Reply,
                                              permanent: bool,
                                              retry_after: float | None) -> None:
    with http_receiver(reply) as receiver:
        failed = await failure("webhook", {"url": receiver.url, "secret": SECRET}, settings)
    assert failed.permanent is permanent and failed.retry_after == retry_after
    assert f"answered {reply.status}" in failed.reason


async def test_webhook_without_a_server_is_retried(settings: Settings) -> None:
    failed = await failure("webhook", {"url": f"http://127.0.0.1:{free_port()}/h",
                                       "secret": SECRET}, settings)
    assert not failed.permanent and failed.retry_after is None
    assert failed.reason.startswith("could not reach the webhook at 127.0.0.1")


async def test_a_receiver_that_does_not_answer_in_time_is_retried(
        settings: Settings) -> None:
    with http_receiver(Reply(hang=True)) as receiver:
        failed = await failure("webhook", {"url": receiver.url, "secret": SECRET}, settings)
        slack = await failure("slack", {"webhook_url": receiver.url}, settings)
    assert not failed.permanent and "did not answer within 0.5 s" in failed.reason
    assert not slack.permanent and "did not answer" in slack.reason
