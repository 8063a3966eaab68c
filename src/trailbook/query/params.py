"""Build an ``EventFilter`` from named parameters, as the API's query string and the
CLI's options give them. Each parameter may repeat or hold comma-separated values;
errors name the parameter."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from trailbook.errors import ErrorDetail, ValidationFailed
from trailbook.model import limits as L
from trailbook.model.annotation import normalize_tag
from trailbook.model.timefmt import now_us, parse_rfc3339, to_us
from trailbook.query.filters import EventFilter, IPNetwork
from trailbook.query.terms import network_lookup

_RELATIVE = re.compile(r"^(?:last\s*)?(\d+)\s*(s|m|h|d|w)$")
_WORD = re.compile(r"\w", re.UNICODE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}

# parameter -> EventFilter field, for the plain multi-valued string filters.
_MULTI = {
    "actor_id": "actor_ids",
    "actor_email": "actor_emails",
    "target_id": "target_ids",
    "target_name": "target_names",
    "target_type": "target_types",
    "scope": "scopes",
    "request_id": "request_ids",
    "session_id": "session_ids",
}
_ENUMS = {
    "action_type": ("action_types", L.ACTION_TYPES),
    "severity": ("severities", L.SEVERITIES),
    "result": ("results", L.RESULTS),
    "actor_type": ("actor_types", L.ACTOR_TYPES),
}
# Free-form values are taken whole; these may also be given as comma lists.
_SPLIT_ON_COMMAS = {"actor_email", "target_type", "scope"}
_SINGLE_TEXT = {"actor": "actor", "target": "target", "q": "text"}

FILTER_PARAMS = (
    "since", "until", "last", "category", "action", *_ENUMS, *_SINGLE_TEXT, *_MULTI, "ip",
    "tag",
)  # fmt: skip


def _bad(name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"invalid filter parameter {name!r}", [ErrorDetail(name, reason)])


def span_seconds(text: str) -> int | None:
    """A span such as 90s, 30m, 24h, 7d or 2w (``last 7d`` too) in seconds; None when
    ``text`` is not one."""
    match = _RELATIVE.match(text.strip().lower())
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def parse_time(name: str, text: str, now: int | None = None) -> int:
    """RFC 3339, a date (midnight UTC), or a relative span back from now (24h, 7d)."""
    text = text.strip()
    span = span_seconds(text)
    if span is not None:
        return (now if now is not None else now_us()) - span * 1_000_000
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise _bad(name, str(exc)) from None
        return to_us(datetime(day.year, day.month, day.day, tzinfo=UTC))
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise _bad(
            name,
            "use RFC 3339 (2026-01-31T12:00:00Z), a date (2026-01-31) or a span "
            "back from now (30m, 24h, 7d)",
        ) from None


def parse_network(name: str, text: str) -> IPNetwork:
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise _bad(name, f"{text!r} is not an IP address or CIDR network") from None
    try:
        network_lookup(network)
    except ValueError as exc:
        raise _bad(name, str(exc)) from None
    return network


def _values(raw: str | Sequence[str] | None, *, commas: bool = True) -> list[str]:
    """The parameter's values: repeated, and (with ``commas``) comma-separated. Free-form
    values (ids, names, emails) are not split: a name may hold a comma."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        parts = item.split(",") if commas else [item]
        out.extend(part.strip() for part in parts if part.strip())
    return out


def filter_from_params(
    params: Mapping[str, str | Sequence[str] | None], *, strict: bool = True,
    now: int | None = None,
) -> EventFilter:
    """``strict``: refuse parameters this model does not know (a typo would otherwise
    widen the search silently). ``now`` anchors relative times (default: the clock)."""
    if strict:
        unknown = sorted(k for k in params if k not in FILTER_PARAMS)
        if unknown:
            raise ValidationFailed(
                "unknown filter parameter",
                [
                    ErrorDetail(k, f"not a filter; known: {', '.join(FILTER_PARAMS)}")
                    for k in unknown
                ],
            )
    fields: dict[str, object] = {}
    now = now_us() if now is None else now
    since = _values(params.get("since"))
    last = _values(params.get("last"))
    if since and last:
        raise _bad("last", "give either last or since")
    if last:
        if span_seconds(last[0]) is None:
            raise _bad("last", "a span such as 30m, 24h or 7d")
        fields["since_us"] = parse_time("last", last[0], now)
    elif since:
        fields["since_us"] = parse_time("since", since[0], now)
    until = _values(params.get("until"))
    if until:
        fields["until_us"] = parse_time("until", until[0], now)
    since_us, until_us = fields.get("since_us"), fields.get("until_us")
    if isinstance(since_us, int) and isinstance(until_us, int) and until_us <= since_us:
        raise _bad("until", "must be later than since")

    categories = _values(params.get("category"))
    if categories:
        fields["categories"] = tuple(categories)
    actions, prefixes = [], []
    for action in _values(params.get("action")):
        if action.endswith(".*") or action.endswith("*"):
            prefix = action.removesuffix("*").removesuffix(".")
            if not prefix:
                raise _bad("action", "a prefix needs at least one segment, e.g. miner.*")
            prefixes.append(prefix)
        else:
            actions.append(action)
    if actions:
        fields["actions"] = tuple(actions)
    if prefixes:
        fields["action_prefixes"] = tuple(prefixes)
    for name, (field, allowed) in _ENUMS.items():
        values = _values(params.get(name))
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise _bad(name, f"{wrong[0]!r} is not one of {', '.join(allowed)}")
        if values:
            fields[field] = tuple(values)
    for name, field in _MULTI.items():
        values = _values(params.get(name), commas=name in _SPLIT_ON_COMMAS)
        if name == "target_name" and any(not _WORD.search(v) for v in values):
            raise _bad(name, "a name needs letters or digits")
        if values:
            fields[field] = tuple(values)
    for name, field in _SINGLE_TEXT.items():
        raw = params.get(name)
        text = raw if isinstance(raw, str) or raw is None else " ".join(raw)
        if text and text.strip():
            if not _WORD.search(text):
                raise _bad(name, "search words need letters or digits")
            fields[field] = text.strip()
    networks = [parse_network("ip", v) for v in _values(params.get("ip"))]
    if networks:
        fields["ips"] = tuple(networks)
    tags = [normalize_tag(v) for v in _values(params.get("tag"))]
    if tags:
        fields["tags"] = tuple(dict.fromkeys(tags))
    return EventFilter(**fields)  # type: ignore[arg-type]
