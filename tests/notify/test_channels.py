"""Channel configs: validation (fields named ``config.<field>``), masking of secrets,
and updates that send a masked secret back."""

from __future__ import annotations

from typing import Any

import pytest

from trailbook.errors import ValidationFailed
from trailbook.notify.channels import (
    MASK,
    DeliveryFailed,
    masked_config,
    merge_config,
    send,
    validate_config,
)
from trailbook.notify.channels.http import parse_retry_after
from trailbook.notify.message import test_message as make_test_message
from trailbook.notify.records import Channel, ChannelKind
from trailbook.settings import load_settings

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-Mw"
SECRET = "s3cret-s3cret-s3cret"
VALID: dict[ChannelKind, dict[str, Any]] = {
    "email": {"host": "smtp.example.com", "security": "starttls", "username": "alerts",
              "password": "pw", "from": "alerts@example.com",
              "to": ["ops@example.com", "sec@example.org"]},
    "slack": {"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX"},
    "telegram": {"bot_token": TOKEN, "chat_id": "-1001234567890"},
    "webhook": {"url": "https://hooks.example.com/trailbook", "secret": SECRET,
                "headers": {"Authorization": "Bearer abc"}},
}


def problems(kind: ChannelKind, config: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_config(kind, config)
    assert caught.value.details, "a refusal names its fields"
    return {d.field: d.reason for d in caught.value.details}


def test_valid_configs_are_normalised() -> None:
    email = validate_config("email", {**VALID["email"], "host": " smtp.example.com "})
    assert email == {**VALID["email"], "port": 587}
    assert validate_config("email", {**VALID["email"], "security": "tls"})["port"] == 465
    plain = validate_config("email", {"host": "127.0.0.1", "security": "none", "port": 2525,
                                      "from": "a@example.com", "to": "b@example.com, c@x.io"})
    assert plain == {"host": "127.0.0.1", "port": 2525, "security": "none",
                     "from": "a@example.com", "to": ["b@example.com", "c@x.io"]}
    assert validate_config("slack", VALID["slack"]) == VALID["slack"]
    assert validate_config("telegram", VALID["telegram"])["chat_id"] == -1001234567890
    assert validate_config("telegram", {"bot_token": TOKEN, "chat_id": "@ops_alerts"})[
        "chat_id"] == "@ops_alerts"
    assert validate_config("webhook", VALID["webhook"]) == VALID["webhook"]


@pytest.mark.parametrize("kind", ["email", "slack", "telegram", "webhook"])
def test_unknown_fields_and_non_objects_are_refused(kind: ChannelKind) -> None:
    found = problems(kind, {**VALID[kind], "colour": "red"})
    assert list(found) == ["config.colour"]
    assert found["config.colour"].startswith("unknown field")
    assert problems(kind, ["not", "an", "object"])["config"] == "must be an object"


def test_missing_fields_are_named() -> None:
    assert problems("email", {}) == {
        "config.host": "required", "config.from": "required",
        "config.to": "required: at least one address"}
    assert set(problems("slack", {})) == {"config.webhook_url"}
    assert set(problems("telegram", {})) == {"config.bot_token", "config.chat_id"}
    assert set(problems("webhook", {})) == {"config.url", "config.secret"}


def test_email_fields_are_checked() -> None:
    found = problems("email", {
        "host": "smtp example", "port": 70000, "security": "ssl", "from": "nobody",
        "to": ["ok@example.com", "a@b", "x@example.com\r\nBcc: y@example.com", 5]})
    assert set(found) == {"config.host", "config.port", "config.security", "config.from",
                          "config.to.1", "config.to.2", "config.to.3"}
    assert "email address" in found["config.from"]
    assert found["config.port"] == "must be between 1 and 65535"
    assert problems("email", {**VALID["email"], "password": None}) == {
        "config.password": "required with a username"}
    assert problems("email", {**VALID["email"], "username": None}) == {
        "config.username": "required with a password"}
    assert "config.port" in problems("email", {**VALID["email"], "port": True})


@pytest.mark.parametrize("url", ["ftp://example.com/x", "javascript:alert(1)", "http://",
                                 "hooks.example.com/x", "https://exa mple.com/",
                                 "http://example.com:99999/"])
def test_urls_must_be_http_with_a_host(url: str) -> None:
    assert "config.webhook_url" in problems("slack", {"webhook_url": url})
    assert "config.url" in problems("webhook", {**VALID["webhook"], "url": url})


def test_telegram_and_webhook_fields_are_checked() -> None:
    found = problems("telegram", {"bot_token": "nope", "chat_id": "general"})
    assert set(found) == {"config.bot_token", "config.chat_id"}
    found = problems("webhook", {"url": "https://h.example.com", "secret": "short",
                                 "headers": {"Content-Type": "text/plain",
                                             "Trailbook-Signature": "x",
                                             "X-Bad": "a\r\nInjected: 1", "Bad Name": "v"}})
    assert found["config.secret"] == "at least 16 characters"
    assert set(found) == {"config.secret", "config.headers.Content-Type",
                          "config.headers.Trailbook-Signature", "config.headers.X-Bad",
                          "config.headers.Bad Name"}


def test_masked_config_hides_every_secret() -> None:
    assert masked_config("email", VALID["email"])["password"] == MASK
    assert masked_config("telegram", VALID["telegram"])["bot_token"] == MASK
    hook = masked_config("webhook", VALID["webhook"])
    assert hook["secret"] == MASK and hook["headers"] == {"Authorization": MASK}
    assert masked_config("slack", VALID["slack"]) == {
        "webhook_url": f"https://hooks.slack.com/{MASK}"}
    for kind, config in VALID.items():
        shown = repr(masked_config(kind, config))
        assert "'pw'" not in shown
        for secret in (TOKEN, SECRET, "Bearer abc", "T000/B000/XXXX"):
            assert secret not in shown
    # The stored config is not touched.
    assert VALID["email"]["password"] == "pw"
    # Nothing to mask: no password field appears.
    plain = {"host": "h.example.com", "security": "none", "from": "a@example.com",
             "to": ["b@example.com"]}
    assert masked_config("email", plain) == plain


@pytest.mark.parametrize("kind", ["email", "slack", "telegram", "webhook"])
def test_sending_the_mask_back_keeps_the_stored_secrets(kind: ChannelKind) -> None:
    stored = validate_config(kind, VALID[kind])
    update = masked_config(kind, stored)
    assert validate_config(kind, merge_config(kind, stored, update)) == stored


def test_an_update_may_change_secrets_and_other_fields() -> None:
    stored = validate_config("email", VALID["email"])
    update = {**masked_config("email", stored), "host": "mail.example.net"}
    merged = validate_config("email", merge_config("email", stored, update))
    assert merged["host"] == "mail.example.net" and merged["password"] == "pw"
    update["password"] = "new-pw"
    assert merge_config("email", stored, update)["password"] == "new-pw"
    hook = validate_config("webhook", VALID["webhook"])
    update = {**masked_config("webhook", hook),
              "headers": {"authorization": MASK, "X-Team": "ops"}}
    assert merge_config("webhook", hook, update)["headers"] == {
        "authorization": "Bearer abc", "X-Team": "ops"}


def test_the_mask_is_not_a_secret() -> None:
    # A mask with nothing stored behind it (a new channel, or a new header) is refused.
    assert "config.password" in problems(
        "email", merge_config("email", {}, {**VALID["email"], "password": MASK}))
    assert "config.secret" in problems(
        "webhook", merge_config("webhook", {}, {**VALID["webhook"], "secret": MASK}))
    assert "config.headers.X-New" in problems(
        "webhook", merge_config("webhook", VALID["webhook"],
                                {**VALID["webhook"], "headers": {"X-New": MASK}}))
    assert "config.webhook_url" in problems(
        "slack", merge_config("slack", {}, {"webhook_url": MASK}))


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_config("pager", {})  # type: ignore[arg-type]
    assert caught.value.details[0].field == "kind"


@pytest.mark.anyio
async def test_a_stored_config_that_no_longer_validates_fails_for_good() -> None:
    channel = Channel(id=1, tenant_id=1, name="broken", kind="webhook",
                      config={"url": "gopher://x"}, created_at="", updated_at="")
    with pytest.raises(DeliveryFailed) as caught:
        await send(channel, make_test_message("acme", "broken", "http://c"), "d-1",
                   load_settings())
    assert caught.value.permanent
    assert "config.url" in caught.value.reason and "config.secret" in caught.value.reason


def test_retry_after_header_forms() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
