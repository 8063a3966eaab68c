"""Personal data masking for callers without the ``personal_data`` permission.

Emails become ``a***@example.com``; IPv4 addresses lose their last octet
(``203.0.113.x``), IPv6 addresses their last 80 bits. Every string in the event is
looked at, so an address inside metadata or changes is masked as well as the actor's
email and the source IP."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
_IPV4 = re.compile(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b")
_IPV6_CANDIDATE = re.compile(r"(?<![0-9A-Za-z:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
                             r"(?![0-9A-Za-z:])")


def mask_email(text: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def _mask_ipv6(match: re.Match[str]) -> str:
    try:
        address = ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    hextets = address.exploded.split(":")[:3]
    return ":".join(h.lstrip("0") or "0" for h in hextets) + ":x:x:x:x:x"


def mask_text(text: str) -> str:
    """``text`` with every email and IP address in it masked."""
    if "@" in text:
        text = mask_email(text)
    if "." in text:
        text = _IPV4.sub(lambda m: f"{m.group(1)}.x", text)
    if ":" in text:
        text = _IPV6_CANDIDATE.sub(_mask_ipv6, text)
    return text


def mask_value(value: Any) -> Any:
    """A JSON value with every string in it (keys too) masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(k): mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value


# Fields that are the server's own and never personal: left as they are (an event id
# or a timestamp must not be mangled by the IPv6 pattern).
_KEEP = ("id", "tenant", "seq", "occurred_at", "received_at", "hash", "category",
         "action", "action_type", "severity", "result")


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event document with its personal data masked and ``masked: true`` added (its
    hash is the stored one's, which the masked document no longer matches)."""
    out = {k: (v if k in _KEEP else mask_value(v)) for k, v in event.items()}
    out["masked"] = True
    return out
