"""What every channel kind shares: the delivery error and the checks of config fields.

A config check reads one raw field, appends an ``ErrorDetail`` naming it
(``config.<field>``) when it is wrong, and returns the normalised value; the caller
raises one ``ValidationFailed`` with every problem found."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from trailbook.errors import ErrorDetail, ValidationFailed

MASK = "********"
MAX_URL = 2048
MAX_SECRET = 4096
MAX_ADDRESS = 254
# A plain address: local@domain.tld, no spaces, quotes, brackets or separators (the
# shape an alert recipient has; exotic RFC 5322 forms are refused on purpose).
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
                      r"\.[A-Za-z0-9-]{2,}")
_HOSTNAME = re.compile(r"[A-Za-z0-9._:\[\]-]{1,253}")


class DeliveryFailed(Exception):
    """A message was not delivered. ``permanent``: retrying cannot help (a refusal
    such as a 4xx other than 408/429, a bad address or bad credentials), so the
    delivery is dead at once; otherwise it is retried, not before ``retry_after``
    seconds when the receiver asked for that."""

    def __init__(self, reason: str, *, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent

    def __repr__(self) -> str:
        return (f"DeliveryFailed({self.reason!r}, retry_after={self.retry_after!r}, "
                f"permanent={self.permanent!r})")


class ConfigReader:
    """Reads a raw config object field by field, collecting problems."""

    def __init__(self, raw: Any, known: Iterable[str]) -> None:
        self.problems: list[ErrorDetail] = []
        self.known = tuple(known)
        if not isinstance(raw, Mapping):
            self.raw: Mapping[str, Any] = {}
            self.fail("config", "must be an object")
            return
        self.raw = raw
        for key in raw:
            if key not in self.known:
                self.fail(f"config.{key}", f"unknown field; known: {', '.join(self.known)}")

    def fail(self, field: str, reason: str) -> None:
        self.problems.append(ErrorDetail(field, reason))

    def done(self, kind: str) -> None:
        """Raise the problems found, if any."""
        if self.problems:
            raise ValidationFailed(f"invalid {kind} channel config", self.problems)

    def present(self, key: str) -> bool:
        return self.raw.get(key) not in (None, "")

    def text(self, key: str, *, required: bool = True, max_length: int = 500,
             check: Callable[[str], str | None] | None = None) -> str | None:
        """A string field; ``check`` returns a reason when the value is wrong."""
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.fail(f"config.{key}", "required")
            return None
        if not isinstance(value, str):
            self.fail(f"config.{key}", "must be a string")
            return None
        value = value.strip()
        if not value and required:
            self.fail(f"config.{key}", "required")
            return None
        if len(value) > max_length:
            self.fail(f"config.{key}", f"at most {max_length} characters")
            return None
        if check is not None:
            reason = check(value)
            if reason:
                self.fail(f"config.{key}", reason)
                return None
        return value

    def secret(self, key: str, *, required: bool = True, min_length: int = 1) -> str | None:
        """A secret: kept as given (not stripped); the mask itself is refused."""
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.fail(f"config.{key}", "required")
            return None
        if not isinstance(value, str):
            self.fail(f"config.{key}", "must be a string")
        elif value == MASK:
            self.fail(f"config.{key}", "the mask stands for a stored secret and none is "
                      "stored; send the secret itself")
        elif len(value) < min_length:
            self.fail(f"config.{key}", f"at least {min_length} characters")
        elif len(value) > MAX_SECRET:
            self.fail(f"config.{key}", f"at most {MAX_SECRET} characters")
        elif any(c in value for c in "\r\n\0"):
            self.fail(f"config.{key}", "must not contain line breaks")
        else:
            return value
        return None

    def url(self, key: str) -> str | None:
        return self.text(key, max_length=MAX_URL, check=url_problem)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw.get(key)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"config.{key}", "must be a whole number")
            return default
        if not low <= value <= high:
            self.fail(f"config.{key}", f"must be between {low} and {high}")
            return default
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if value not in options:
            self.fail(f"config.{key}", f"one of {', '.join(options)}")
            return default
        return str(value)


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL with a host, or None."""
    if any(c.isspace() for c in value):
        return "must not contain spaces"
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if port == 0:
        return "not a valid port"
    return None


def address_problem(value: str) -> str | None:
    """Why ``value`` is not an email address of the plain local@domain shape, or None."""
    if len(value) > MAX_ADDRESS or not _ADDRESS.fullmatch(value):
        return "not an email address (name@example.com)"
    return None


def host_problem(value: str) -> str | None:
    """Why ``value`` is not a host name or IP address, or None."""
    if not _HOSTNAME.fullmatch(value) or value.startswith(("-", ".")):
        return "not a host name or IP address"
    return None


def url_mask(url: str) -> str:
    """A URL whose path is its secret (a Slack webhook), shown as scheme and host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/{MASK}"


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters (for error reasons)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
