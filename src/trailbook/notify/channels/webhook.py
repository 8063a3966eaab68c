"""A generic webhook: config ``{url, secret, headers?}``; the message is POSTed as JSON
``{delivery_id, kind, tenant, rule, title, severity, text, count, event_ids, events,
link, sent_at}``, signed so the receiver can trust it:

- ``Trailbook-Delivery``: the delivery id (the same on every retry: drop duplicates);
- ``Trailbook-Timestamp``: Unix seconds when this attempt was sent;
- ``Trailbook-Signature``: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``.

A receiver checks the signature over the raw body bytes, and the timestamp's age
(``verify_signature`` does both). ``headers`` are extra headers sent as given (e.g. an
Authorization for a gateway); their values are treated as secrets."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from trailbook.model.timefmt import format_us
from trailbook.notify.channels.common import MASK, ConfigReader
from trailbook.notify.channels.http import check_response, post_json
from trailbook.notify.message import Message
from trailbook.settings import Settings

FIELDS = ("url", "secret", "headers")
SECRETS = ("secret",)
MIN_SECRET = 16
MAX_HEADERS = 20
MAX_HEADER_VALUE = 1000
SIGNATURE_HEADER = "Trailbook-Signature"
TIMESTAMP_HEADER = "Trailbook-Timestamp"
DELIVERY_HEADER = "Trailbook-Delivery"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
_RESERVED = ("content-type", "content-length", "content-encoding", "host", "connection",
             "transfer-encoding", "user-agent")


def validate(raw: Any) -> dict[str, Any]:
    reader = ConfigReader(raw, FIELDS)
    url = reader.url("url")
    secret = reader.secret("secret", min_length=MIN_SECRET)
    headers: dict[str, str] = {}
    value = reader.raw.get("headers")
    if value is not None and not isinstance(value, dict):
        reader.fail("config.headers", "must be an object of header names and values")
    elif value:
        if len(value) > MAX_HEADERS:
            reader.fail("config.headers", f"at most {MAX_HEADERS} headers")
        for name, text in value.items():
            problem = _header_problem(str(name), text)
            if problem:
                reader.fail(f"config.headers.{name}", problem)
            else:
                headers[str(name)] = str(text)
    reader.done("webhook")
    out: dict[str, Any] = {"url": url, "secret": secret}
    if headers:
        out["headers"] = headers
    return out


def _header_problem(name: str, value: Any) -> str | None:
    if not _TOKEN.fullmatch(name):
        return "not a valid header name"
    lowered = name.lower()
    if lowered in _RESERVED or lowered.startswith("trailbook-"):
        return "set by Trailbook; cannot be changed"
    if not isinstance(value, str):
        return "the value must be a string"
    if value == MASK:
        return "the mask stands for a stored value and none is stored; send the value"
    if len(value) > MAX_HEADER_VALUE:
        return f"at most {MAX_HEADER_VALUE} characters"
    if any(c in value for c in "\r\n\0"):
        return "must not contain line breaks"
    return None


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``Trailbook-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, header: str,
                     now: float | None = None, tolerance: float = 300) -> bool:
    """Whether ``header`` (a ``Trailbook-Signature``) signs ``body`` sent at
    ``timestamp`` (the ``Trailbook-Timestamp``) with ``secret``, and the timestamp is
    within ``tolerance`` seconds of ``now`` (default: the clock), against replays."""
    if not timestamp.isdigit():
        return False
    moment = time.time() if now is None else now
    if abs(moment - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())


def body(message: Message, delivery_id: str, sent_us: int) -> bytes:
    """The JSON the receiver gets."""
    return orjson.dumps({
        "delivery_id": delivery_id, "kind": message.kind, "tenant": message.tenant,
        "rule": message.rule, "title": message.title, "severity": message.severity,
        "text": message.text, "count": message.count,
        "event_ids": list(message.event_ids),
        "events": [e.to_json() for e in message.events], "link": message.link,
        "sent_at": format_us(sent_us),
    })


async def send(config: dict[str, Any], message: Message, delivery_id: str,
               settings: Settings) -> None:
    sent_us = time.time_ns() // 1000
    timestamp = sent_us // 1_000_000
    content = body(message, delivery_id, sent_us)
    headers = dict(config.get("headers") or {})
    headers.update({
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(str(config["secret"]), timestamp, content),
    })
    url = str(config["url"])
    receiver = f"the webhook at {urlsplit(url).hostname}"
    response = await post_json(url, None, settings, receiver=receiver, headers=headers,
                               body=content)
    check_response(response, receiver)
