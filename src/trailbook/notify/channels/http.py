"""Posting JSON to a receiver over HTTP, and telling a failure that may pass (retry)
from one that will not (give up).

Retryable: the connection refused or reset, a timeout (the whole exchange is bounded
by ``alert_http_timeout_seconds``), 408, 429 and 5xx answers; a ``Retry-After``
header is honoured. Permanent: every other answer outside 2xx (a redirect is not
followed: the configured URL is the one to fix). Reasons never quote the URL, which
may hold a secret (a bot token, a webhook path); callers name the receiver instead."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx
import orjson

from trailbook.notify.channels.common import DeliveryFailed, one_line
from trailbook.settings import Settings

USER_AGENT = "Trailbook-Alerts/1"
RETRYABLE_STATUS = frozenset({408, 425, 429})


async def post_json(url: str, payload: Any, settings: Settings, *, receiver: str,
                    headers: dict[str, str] | None = None,
                    body: bytes | None = None) -> httpx.Response:
    """POST ``payload`` as JSON (or the ready ``body`` bytes) and return the answer,
    whatever its status. Raises DeliveryFailed (retryable) when no answer came."""
    content = body if body is not None else orjson.dumps(payload)
    sent_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    sent_headers.update(headers or {})
    timeout = settings.alert_http_timeout_seconds
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                return await client.post(url, content=content, headers=sent_headers)
    except (TimeoutError, httpx.TimeoutException):
        raise DeliveryFailed(f"{receiver} did not answer within {timeout:g} s") from None
    except httpx.TransportError as exc:
        reason = one_line(str(exc)) or type(exc).__name__
        raise DeliveryFailed(f"could not reach {receiver}: {reason}") from None
    except httpx.InvalidURL:
        raise DeliveryFailed(f"the URL of {receiver} is not valid", permanent=True) from None


def check_response(response: httpx.Response, receiver: str,
                   retry_after: float | None = None) -> None:
    """Return when ``response`` is a 2xx answer, else raise DeliveryFailed classified
    by its status. ``retry_after`` overrides the Retry-After header."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = one_line(response.text) if response.content else response.reason_phrase
    reason = f"{receiver} answered {status}" + (f": {detail}" if detail else "")
    wait = retry_after if retry_after is not None else parse_retry_after(
        response.headers.get("Retry-After"))
    raise failure(status, reason, wait)


def failure(status: int, reason: str, retry_after: float | None = None) -> DeliveryFailed:
    """The error for a refusal with HTTP ``status``: retryable for 408, 425, 429 and
    5xx (after ``retry_after`` seconds when given), else permanent."""
    if status in RETRYABLE_STATUS or status >= 500:
        return DeliveryFailed(reason, retry_after=retry_after)
    return DeliveryFailed(reason, permanent=True)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP
    date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
