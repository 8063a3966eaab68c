"""Building and checking one event in the caller's thread (shared by every client).

Validation, in order of cost: the event dict goes through ``msgspec.convert`` into the
server's own ``trailbook.model.event.EventIn`` (types, lengths, enums, required and
unknown fields), then the server's extra rules that need no tenant or clock state
(action format, email form, reason only with failure, IP address, country code,
occurred_at range, free-JSON rules and sizes of ``metadata`` and ``changes``). What is
left to the server: whether ``category`` is one of the tenant's categories and the
idempotency-key conflict check. Errors name the field as the server's 422 would.

The patterns are copies of ``trailbook.model.normalize``'s (importing that module costs
~100 ms); tests/sdk/test_validation.py checks they are the same.
"""

from __future__ import annotations

import math
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
import uuid_utils

from trailbook.model import limits as L
from trailbook.model.event import EventIn
from trailbook.model.timefmt import to_us
from trailbook.sdk.context import CURRENT, ActorLike, actor_dict
from trailbook.sdk.errors import InvalidEvent

ACTION_RE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")

TargetLike = Mapping[str, Any] | tuple[str, str] | tuple[str, str, str]
ChangesLike = Sequence[Mapping[str, Any]] | Mapping[str, tuple[Any, Any]]
Event = dict[str, Any]

# Actions already found well-formed: most programs use a few dozen.
_good_actions: set[str] = set()
_encode = msgspec.json.encode
_convert = msgspec.convert


class CaptureHook:
    """Where events go instead of the wire while ``trailbook.testing.capture()`` runs."""

    sink: Callable[[str, bytes], None] | None = None  # (idempotency key, JSON)


def new_key() -> str:
    """A fresh idempotency key: UUIDv7 text."""
    return str(uuid_utils.uuid7())


_second: tuple[int, str] = (-1, "")


def now_text() -> str:
    """Now as RFC 3339 UTC text with microseconds (``2026-01-02T03:04:05.123456Z``)."""
    global _second
    us = time.time_ns() // 1000
    seconds = us // 1_000_000
    cached = _second  # one read: other threads may replace it meanwhile
    if cached[0] != seconds:
        cached = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds)))
        _second = cached
    return cached[1] + str(us - seconds * 1_000_000 + 1_000_000)[1:] + "Z"


def _target(target: TargetLike) -> dict[str, Any]:
    if isinstance(target, tuple):
        out = {"type": target[0], "id": target[1]}
        if len(target) > 2:
            out["name"] = target[2]
        return out
    return dict(target)


def _changes(changes: ChangesLike) -> list[dict[str, Any]]:
    if isinstance(changes, Mapping):
        out = []
        for name, pair in changes.items():
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise InvalidEvent(f"changes.{name}", "give (old, new)")
            out.append({"field": name, "old": pair[0], "new": pair[1]})
        return out
    return [dict(change) for change in changes]


def _rules(event: EventIn) -> None:
    """The server's rules beyond types (``model.normalize._normalize``) that need no
    tenant; the sizes of the free JSON are checked by ``_check_sizes`` once the event is
    encoded."""
    if event.result == "success" and event.reason is not None:
        raise InvalidEvent("reason", "a reason is only given with result 'failure'")
    if event.occurred_at is not None:
        occurred = to_us(event.occurred_at)
        if occurred < 0:
            raise InvalidEvent("occurred_at", "must not be before 1970-01-01T00:00:00Z")
        if occurred > time.time_ns() // 1000 + L.MAX_FUTURE_SECONDS * 1_000_000:
            raise InvalidEvent("occurred_at", "lies more than 24 hours ahead of the clock")
    email = event.actor.email
    if email is not None and not EMAIL_RE.match(email):
        raise InvalidEvent("actor.email", "not an email address")
    src = event.source
    if src is not None:
        if src.ip is not None and not _is_ip(src.ip):
            raise InvalidEvent("source.ip", "not an IPv4 or IPv6 address")
        if src.country is not None and not COUNTRY_RE.match(src.country):
            raise InvalidEvent("source.country", "use an ISO 3166-1 alpha-2 code such as DE")
    if event.changes:
        for index, change in enumerate(event.changes):
            _walk(change.old, f"changes[{index}].old", 1)
            _walk(change.new, f"changes[{index}].new", 1)
    if event.metadata:
        _walk(event.metadata, "metadata", 0)


def _encoded(event: Event) -> bytes:
    """The checked event as the JSON sent: encoded here, in the caller's thread, so it
    is a snapshot (later changes by the caller to a dict it passed do not leak in).
    ``changes`` and ``metadata`` are held to their size limits; only an event longer
    than a limit needs its part encoded apart to know."""
    try:
        body = _encode(event)
    except (TypeError, ValueError, OverflowError) as exc:
        for name in ("changes", "metadata"):  # the free JSON: name the part at fault
            if name in event:
                _json(event[name], name)
        raise InvalidEvent("event", f"not JSON: {exc}") from None
    for name, limit in (("changes", L.MAX_CHANGES_BYTES), ("metadata", L.MAX_METADATA_BYTES)):
        if len(body) > limit and name in event:
            _sized(event[name], name, limit)
    return body


_ip_cache: dict[str, bool] = {}


def _is_ip(text: str) -> bool:
    known = _ip_cache.get(text)
    if known is None:
        family = socket.AF_INET6 if ":" in text else socket.AF_INET
        try:
            socket.inet_pton(family, text)
            known = True
        except (OSError, ValueError):
            known = False
        if len(_ip_cache) > 4096:
            _ip_cache.clear()
        _ip_cache[text] = known
    return known


def _json(value: Any, field: str) -> bytes:
    try:
        return _encode(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidEvent(field, f"not JSON: {exc}") from None


def _sized(value: Any, field: str, limit: int) -> None:
    """``value`` is at most ``limit`` bytes as compact JSON."""
    size = len(_json(value, field))
    if size > limit:
        raise InvalidEvent(field, f"{size} bytes; at most {limit}")


def _walk(value: Any, path: str, depth: int) -> None:
    """The free-JSON rules: depth, key length, I-JSON integers, finite numbers."""
    if isinstance(value, str | bool) or value is None:
        return
    if isinstance(value, int):
        if not -L.MAX_SAFE_INTEGER <= value <= L.MAX_SAFE_INTEGER:
            raise InvalidEvent(path, f"integers must lie within ±{L.MAX_SAFE_INTEGER} (I-JSON)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEvent(path, "numbers must be finite")
    elif isinstance(value, Mapping):
        if depth >= L.MAX_METADATA_DEPTH:
            raise InvalidEvent(path, f"nested deeper than {L.MAX_METADATA_DEPTH} levels")
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEvent(path, f"object keys must be strings, not {key!r}")
            if len(key) > L.MAX_METADATA_KEY:
                raise InvalidEvent(f"{path}.{key[:20]}…",
                                   f"keys are at most {L.MAX_METADATA_KEY} characters")
            _walk(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        if depth >= L.MAX_METADATA_DEPTH:
            raise InvalidEvent(path, f"nested deeper than {L.MAX_METADATA_DEPTH} levels")
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1)


def _translate(exc: msgspec.ValidationError) -> InvalidEvent:
    """msgspec's ``Expected ... - at `$.actor.id``` -> InvalidEvent("actor.id", ...)."""
    reason, _, where = str(exc).partition(" - at `")
    field = where.rstrip("`").removeprefix("$").removeprefix(".") if where else ""
    for pattern, text in ((r"Object contains unknown field `(.+)`", "unknown field"),
                          (r"Object missing required field `(.+)`",
                           "required field is missing")):
        found = re.match(pattern, reason)
        if found:
            field = f"{field}.{found.group(1)}" if field else found.group(1)
            reason = text
    return InvalidEvent(field or "event", reason)


class EventLogger:
    """The ``log()`` every client shares: build and check the event here, in the
    caller's thread, then hand it to ``_emit`` (or to ``testing.capture()``)."""

    def log(self, action: str, *, actor: ActorLike | None = None,
            targets: Sequence[TargetLike] | None = None, category: str | None = None,
            action_type: str | None = None, result: str | None = None,
            reason: str | None = None, severity: str | None = None,
            description: str | None = None, changes: ChangesLike | None = None,
            metadata: Mapping[str, Any] | None = None, scope: str | None = None,
            source: Mapping[str, Any] | None = None,
            occurred_at: datetime | str | None = None, request_id: str | None = None,
            session_id: str | None = None, idempotency_key: str | None = None) -> str:
        """Record one event; returns its idempotency key. Fields not given come from
        ``trailbook.context()``. Raises ``InvalidEvent`` (naming the field) at once
        for an event the service would refuse. ``actor`` is an id or an actor object;
        ``targets`` holds ``{"type", "id", "name"}`` objects or ``(type, id[, name])``;
        ``changes`` is a list of ``{"field", "old", "new"}`` or ``{field: (old, new)}``;
        ``occurred_at`` (default: now) is an aware datetime or RFC 3339 text."""
        ctx = CURRENT.get()
        if actor is None:
            if ctx.actor is None:
                raise InvalidEvent("actor", "required field is missing (pass actor= or set it "
                                            "with trailbook.context(actor=...))")
            actor_doc: Any = ctx.actor
        else:
            actor_doc = {"id": actor} if type(actor) is str else actor_dict(actor)
        event: Event = {"action": action, "actor": actor_doc}
        if targets:
            event["targets"] = [_target(t) for t in targets]
        if category is not None:
            event["category"] = category
        if action_type is not None:
            event["action_type"] = action_type
        if result is not None:
            event["result"] = result
        if reason is not None:
            event["reason"] = reason
        if severity is not None:
            event["severity"] = severity
        if description is not None:
            event["description"] = description
        if changes:
            event["changes"] = _changes(changes)
        if scope is not None or ctx.scope is not None:
            event["scope"] = scope if scope is not None else ctx.scope
        if source is not None or ctx.ip is not None or ctx.user_agent is not None:
            src = dict(source) if source is not None else {}
            if ctx.ip is not None:
                src.setdefault("ip", ctx.ip)
            if ctx.user_agent is not None:
                src.setdefault("user_agent", ctx.user_agent)
            event["source"] = src
        if request_id is not None or ctx.request_id is not None:
            event["request_id"] = request_id if request_id is not None else ctx.request_id
        if session_id is not None or ctx.session_id is not None:
            event["session_id"] = session_id if session_id is not None else ctx.session_id
        if occurred_at is not None:
            event["occurred_at"] = occurred_at
        if ctx.metadata:
            metadata = {**ctx.metadata, **metadata} if metadata else dict(ctx.metadata)
        if metadata:
            event["metadata"] = metadata
        event["idempotency_key"] = idempotency_key if idempotency_key is not None else new_key()
        try:
            checked = _convert(event, EventIn)
        except msgspec.ValidationError as exc:
            raise _translate(exc) from None
        if action not in _good_actions:
            if not ACTION_RE.match(action):
                raise InvalidEvent("action", "use lowercase letters, digits, '_' and '-', in "
                                             "dotted segments (e.g. miner.reboot)")
            if len(_good_actions) < 10_000:
                _good_actions.add(action)
        if len(event) > 3 or checked.actor.email is not None:
            _rules(checked)
        if occurred_at is None:
            event["occurred_at"] = now_text()
        elif isinstance(occurred_at, datetime):
            event["occurred_at"] = occurred_at.isoformat()
        body = _encoded(event)
        key: str = event["idempotency_key"]
        sink = CaptureHook.sink
        if sink is not None:
            sink(key, body)
        else:
            self._emit(key, body)
        return key



    def _emit(self, key: str, body: bytes) -> None:
        """Take a checked event: its idempotency key and its JSON."""
        raise NotImplementedError
