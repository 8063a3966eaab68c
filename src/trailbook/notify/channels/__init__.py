"""The channels that carry alert messages: email (SMTP), Slack (incoming webhook),
Telegram (bot) and a signed generic webhook.

- ``validate_config`` checks and normalises a kind's config (``ValidationFailed``
  naming ``config.<field>``); unknown fields are refused.
- ``masked_config`` is the config as the API and pages show it: secrets replaced by
  ``********``; ``merge_config`` lets an update send that mask back to keep a secret.
- ``send`` delivers one message, or raises ``DeliveryFailed`` saying whether a retry
  may help."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any

from trailbook.errors import ErrorDetail, TrailbookError, ValidationFailed
from trailbook.notify.channels import email, slack, telegram, webhook
from trailbook.notify.channels.common import MASK, DeliveryFailed, url_mask
from trailbook.notify.channels.webhook import sign, verify_signature
from trailbook.notify.message import Message
from trailbook.notify.records import CHANNEL_KINDS, Channel, ChannelKind
from trailbook.settings import Settings

__all__ = [
    "MASK",
    "DeliveryFailed",
    "masked_config",
    "merge_config",
    "send",
    "sign",
    "validate_config",
    "verify_signature",
]

_MODULES: dict[str, ModuleType] = {
    "email": email, "slack": slack, "telegram": telegram, "webhook": webhook,
}
Sender = Callable[[dict[str, Any], Message, str, Settings], Awaitable[None]]


def _module(kind: str) -> ModuleType:
    module = _MODULES.get(kind)
    if module is None:
        raise ValidationFailed("unknown channel kind", [
            ErrorDetail("kind", f"one of {', '.join(CHANNEL_KINDS)}")])
    return module


def validate_config(kind: ChannelKind, config: Any) -> dict[str, Any]:
    """``config`` checked and normalised for ``kind`` (defaults filled in, text
    trimmed). Raises ValidationFailed with a detail per problem (``config.host``...)."""
    validate: Callable[[Any], dict[str, Any]] = _module(kind).validate
    return validate(config)


def _secret_fields(kind: str) -> tuple[str, ...]:
    return tuple(getattr(_module(kind), "SECRETS", ()))


def _url_secret_fields(kind: str) -> tuple[str, ...]:
    return tuple(getattr(_module(kind), "URL_SECRETS", ()))


def masked_config(kind: ChannelKind, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as it may be shown: secrets (an SMTP password, a bot token, a webhook
    secret and its extra header values) are ``********``; a URL that is a secret (a
    Slack webhook) keeps only its scheme and host."""
    out = dict(config)
    for key in _secret_fields(kind):
        if out.get(key):
            out[key] = MASK
    for key in _url_secret_fields(kind):
        if isinstance(out.get(key), str) and out[key]:
            out[key] = url_mask(out[key])
    if kind == "webhook" and isinstance(out.get("headers"), Mapping):
        out["headers"] = {name: MASK for name in out["headers"]}
    return out


def merge_config(kind: ChannelKind, old: Mapping[str, Any],
                 new: Any) -> dict[str, Any]:
    """The config an update ``new`` stands for, given the stored ``old``: where ``new``
    sends a secret masked (as ``masked_config`` showed it) the stored secret is kept.
    ``new`` is otherwise the whole config (fields it leaves out are not taken from
    ``old``); check the result with ``validate_config``."""
    if not isinstance(new, Mapping):
        return new  # type: ignore[no-any-return]  # validate_config refuses it
    out = dict(new)
    for key in _secret_fields(kind):
        if out.get(key) == MASK and old.get(key):
            out[key] = old[key]
    for key in _url_secret_fields(kind):
        stored = old.get(key)
        if isinstance(stored, str) and stored and out.get(key) in (MASK, url_mask(stored)):
            out[key] = stored
    headers, stored_headers = out.get("headers"), old.get("headers")
    if kind == "webhook" and isinstance(headers, Mapping) and isinstance(
            stored_headers, Mapping):
        by_name = {str(k).lower(): v for k, v in stored_headers.items()}
        out["headers"] = {
            name: by_name.get(str(name).lower(), value) if value == MASK else value
            for name, value in headers.items()
        }
    return out


async def send(channel: Channel, message: Message, delivery_id: str,
               settings: Settings) -> None:
    """Deliver ``message`` through ``channel``; ``delivery_id`` goes with it (a
    Message-ID, a header, a body field) so receivers can drop a repeated delivery.
    Raises DeliveryFailed; a config that no longer validates is a permanent failure."""
    try:
        config = validate_config(channel.kind, channel.config)
    except TrailbookError as exc:
        raise DeliveryFailed(f"the channel's config is not valid: {exc.one_line()}",
                             permanent=True) from None
    sender: Sender = _module(channel.kind).send
    await sender(config, message, delivery_id, settings)
