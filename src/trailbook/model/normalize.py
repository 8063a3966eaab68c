"""Rules of a valid event beyond its types, and the normalised document it becomes.

Everything here is pure: no clock, no store. The caller passes the tenant and the
receive time; errors name the field (``events[3].actor.email`` in a batch)."""

from __future__ import annotations

import math
import re
import socket
import uuid
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256
from typing import Any, NoReturn

import msgspec
import orjson
import uuid_utils

from trailbook.errors import ErrorDetail, MalformedRequest, TrailbookError, ValidationFailed
from trailbook.integrity.canonical import CanonicalFormError, canonical_json
from trailbook.integrity.chain import split_at_seq
from trailbook.model import limits as L
from trailbook.model.event import SERVER_FIELDS, EventIn
from trailbook.model.prepared import PreparedEvent
from trailbook.model.timefmt import format_moment, format_us, parse_rfc3339, to_us
from trailbook.query.terms import EventTerms, build_terms

ACTION_RE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
# The members of an event's document that hold free JSON: the only places where a
# float or a non-ASCII object key can be (every other field is typed).
FREE_JSON_FIELDS = ("changes", "metadata")

# The last segment of an action says what kind of action it is, when the client
# does not: "client.bill.update" -> update, "user.login" -> login.
_ACTION_TYPE_BY_VERB = {
    **dict.fromkeys(("create", "created", "add", "added", "new", "register", "import"), "create"),
    **dict.fromkeys(("read", "view", "viewed", "get", "list", "search", "open"), "read"),
    **dict.fromkeys(
        (
            "update",
            "updated",
            "edit",
            "change",
            "changed",
            "set",
            "modify",
            "rename",
            "scale",
            "sync",
            "move",
            "enable",
            "disable",
            "assign",
        ),
        "update",
    ),
    **dict.fromkeys(("delete", "deleted", "remove", "removed", "destroy", "purge"), "delete"),
    **dict.fromkeys(("login", "signin", "sign_in"), "login"),
    **dict.fromkeys(("logout", "signout", "sign_out"), "logout"),
    **dict.fromkeys(("export", "download"), "export"),
    **dict.fromkeys(("execute", "run", "reboot", "restart", "start", "stop", "deploy"), "execute"),
    **dict.fromkeys(("grant", "revoke", "permission", "role"), "permission"),
    **dict.fromkeys(
        ("approve", "reject", "block", "unblock", "adjust", "expire", "suspend", "resume",
         "cancel", "refund", "lock", "unlock", "archive", "restore"),
        "update",
    ),
    **dict.fromkeys(("verify", "check", "audit", "inspect"), "read"),
}


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: int
    name: str
    categories: frozenset[str]
    # The store keeps a tsvector per event (PostgreSQL): make it during validation.
    search_vector: bool = False


@lru_cache(maxsize=16_384)  # the same offices and hosts send most events
def canonical_ip(text: str) -> str | None:
    """The canonical text of an IPv4 or IPv6 address (RFC 5952 for v6), or None."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, text))
    except (OSError, ValueError):
        return None


# A batch shares one receive time: its text is made once, not once per event.
_received_text = lru_cache(maxsize=8)(format_us)


# Actions, staff emails and countries repeat from event to event: each is matched
# against its pattern once (a cached call costs a third of a regex match).
@lru_cache(maxsize=4096)
def _is_action(text: str) -> bool:
    return ACTION_RE.match(text) is not None


@lru_cache(maxsize=16_384)
def _is_email(text: str) -> bool:
    return EMAIL_RE.match(text) is not None


@lru_cache(maxsize=1024)
def _country_code(text: str) -> str | None:
    """The upper-case code, or None if ``text`` is not two letters."""
    return text.upper() if COUNTRY_RE.match(text) else None


def infer_action_type(action: str) -> str:
    return _ACTION_TYPE_BY_VERB.get(action.rsplit(".", 1)[-1], "other")


def _path_to_field(path: str, batch: bool) -> str:
    """msgspec's ``$[3].actor.id`` -> ``events[3].actor.id`` (or ``actor.id``)."""
    if path.startswith("$["):
        return ("events" if batch else "") + path[1:]
    return path.removeprefix("$.").removeprefix("$")


def translate_decode_error(exc: msgspec.MsgspecError, *, batch: bool) -> TrailbookError:
    """Turn a msgspec decode/validation error into a Trailbook error."""
    if isinstance(exc, msgspec.ValidationError):
        text = str(exc)
        reason, _, where = text.partition(" - at `")
        location = where.rstrip("`") if where else "$"
        field = _path_to_field(location, batch)
        unknown = re.match(r"Object contains unknown field `(.+)`", reason)
        if unknown:
            name = unknown.group(1)
            field = f"{field}.{name}" if field else name
            reason = "unknown field"
        missing = re.match(r"Object missing required field `(.+)`", reason)
        if missing:
            name = missing.group(1)
            field = f"{field}.{name}" if field else name
            reason = "required field is missing"
        if reason.startswith("Expected `array | object`") or (
            field in ("", "events") and reason.startswith("Expected `object`")
        ):
            return ValidationFailed(
                "the body must be one event (a JSON object) or a batch (a JSON array)",
                [ErrorDetail("body", reason)],
            )
        return ValidationFailed("the event is not valid", [ErrorDetail(field or "body", reason)])
    return MalformedRequest("the body is not valid JSON", [ErrorDetail("body", str(exc))])


class _FreeJson:
    """Checks free JSON (metadata, change values): depth, key sizes, numbers, and
    collects the text that full-text search should find.

    Walked first without paths (``path`` None): building a path string for every
    value cost more than the checks. Only when that finds a fault is the event walked
    again with paths, to name the field (``_free_json``)."""

    __slots__ = ("exact", "texts")

    def __init__(self) -> None:
        self.exact = False
        self.texts: list[str] = []

    def walk(self, value: Any, path: str | None, depth: int) -> None:
        if isinstance(value, str):
            if value:
                self.texts.append(value)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int):
            if not -L.MAX_SAFE_INTEGER <= value <= L.MAX_SAFE_INTEGER:
                _fault(path, f"integers must lie within ±{L.MAX_SAFE_INTEGER} (I-JSON)")
        elif isinstance(value, float):
            if not math.isfinite(value):
                _fault(path, "numbers must be finite")
            self.exact = True
        elif isinstance(value, dict):
            if depth >= L.MAX_METADATA_DEPTH:
                _fault(path, f"nested deeper than {L.MAX_METADATA_DEPTH} levels")
            for key, item in value.items():
                if len(key) > L.MAX_METADATA_KEY:
                    _fault(path and f"{path}.{key[:20]}…",
                           f"keys are at most {L.MAX_METADATA_KEY} characters")
                if not key.isascii():
                    self.exact = True
                self.walk(item, path and f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            if depth >= L.MAX_METADATA_DEPTH:
                _fault(path, f"nested deeper than {L.MAX_METADATA_DEPTH} levels")
            for index, item in enumerate(value):
                self.walk(item, path and f"{path}[{index}]", depth + 1)


class _Unnamed(Exception):
    """A fault found by a walk without paths: walk again to name it."""


def _fault(path: str | None, reason: str) -> NoReturn:
    if path is None:
        raise _Unnamed(reason)
    raise _Bad(path, reason)


def _free_json(event: EventIn, named: bool) -> tuple[_FreeJson, int]:
    """The free JSON of ``event`` checked: its texts (changes' values first, then
    the metadata's from the returned index on) and whether floats or non-ASCII keys
    need the exact canonical form."""
    free = _FreeJson()
    for index, change in enumerate(event.changes):
        free.walk(change.old, f"changes[{index}].old" if named else None, 1)
        free.walk(change.new, f"changes[{index}].new" if named else None, 1)
    metadata_text_start = len(free.texts)
    free.walk(event.metadata, "metadata" if named else None, 0)
    return free, metadata_text_start


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


_UNSET = msgspec.UNSET


def _check_server_fields(event: EventIn, prefix: str) -> None:
    if (event.id is _UNSET and event.tenant is _UNSET and event.seq is _UNSET
            and event.received_at is _UNSET and event.hash is _UNSET):
        return  # the usual case, without a list and five getattr calls
    sent = [name for name in SERVER_FIELDS if getattr(event, name) is not _UNSET]
    if sent:
        raise ValidationFailed(
            "some fields are assigned by the server and must not be sent",
            [
                ErrorDetail(
                    prefix + name,
                    "taken from the API key" if name == "tenant" else "assigned by the server",
                )
                for name in sent
            ],
        )


def normalize_event(
    event: EventIn, tenant: TenantInfo, received_us: int, prefix: str = ""
) -> PreparedEvent:
    """Validate ``event`` and build its document. ``prefix`` is prepended to field
    names in errors (``events[3].`` in a batch)."""
    _check_server_fields(event, prefix)
    try:
        return _normalize(event, tenant, received_us)
    except _Bad as bad:
        raise ValidationFailed(
            "the event is not valid", [ErrorDetail(prefix + bad.field, bad.reason)]
        ) from None


# The size limits of changes and metadata are on their JSON as msgspec writes them.
# Both sit inside the event's canonical form, which is written the same way but for
# numbers with a fraction: those msgspec writes at most four times as long ("-0.0"
# against "0"). So an event whose canonical form is short enough is within both
# limits, and only a longer one has them measured (0.5 µs an event saved; the limits
# are 32 KiB, demo events ~1 KiB).
_FLOAT_GROWTH = 4
_SIZES_CHECKED_ABOVE = min(L.MAX_CHANGES_BYTES, L.MAX_METADATA_BYTES)


def _check_sizes(changes: list[dict[str, Any]], metadata: dict[str, Any]) -> None:
    if changes:
        size = len(msgspec.json.encode(changes))
        if size > L.MAX_CHANGES_BYTES:
            raise _Bad("changes", f"{size} bytes; at most {L.MAX_CHANGES_BYTES}")
    if metadata:
        size = len(msgspec.json.encode(metadata))
        if size > L.MAX_METADATA_BYTES:
            raise _Bad("metadata", f"{size} bytes; at most {L.MAX_METADATA_BYTES}")


def _normalize(event: EventIn, tenant: TenantInfo, received_us: int) -> PreparedEvent:
    if not _is_action(event.action):
        raise _Bad(
            "action",
            "use lowercase letters, digits, '_' and '-', in dotted segments (e.g. miner.reboot)",
        )
    if event.category not in tenant.categories:
        raise _Bad(
            "category", f"unknown category; this tenant has: {', '.join(sorted(tenant.categories))}"
        )
    if event.result == "success" and event.reason is not None:
        raise _Bad("reason", "a reason is only given with result 'failure'")

    if event.occurred_at is None:
        occurred_us = received_us
        occurred_text = _received_text(received_us)
    else:
        occurred_us = to_us(event.occurred_at)
        if occurred_us < 0:
            raise _Bad("occurred_at", "must not be before 1970-01-01T00:00:00Z")
        if occurred_us > received_us + L.MAX_FUTURE_SECONDS * 1_000_000:
            raise _Bad("occurred_at", "lies more than 24 hours ahead of the server clock")
        occurred_text = format_moment(event.occurred_at, occurred_us)

    actor = event.actor
    if actor.email is not None and not _is_email(actor.email):
        raise _Bad("actor.email", "not an email address")

    source_doc: dict[str, Any] | None = None
    if event.source is not None:
        src = event.source
        ip = None
        if src.ip is not None:
            ip = canonical_ip(src.ip)
            if ip is None:
                raise _Bad("source.ip", "not an IPv4 or IPv6 address")
        country = None
        if src.country is not None:
            country = _country_code(src.country)
            if country is None:
                raise _Bad("source.country", "use an ISO 3166-1 alpha-2 code such as DE")
        source_doc = {"ip": ip, "user_agent": src.user_agent, "country": country}

    try:
        free, metadata_text_start = _free_json(event, named=False)
    except _Unnamed:
        _free_json(event, named=True)  # raises _Bad, naming the field
        raise
    changes = [{"field": c.field, "old": c.old, "new": c.new} for c in event.changes]

    event_id = uuid_utils.uuid7()
    doc: dict[str, Any] = {
        "id": str(event_id),
        "tenant": tenant.name,
        "seq": 0,
        "occurred_at": occurred_text,
        "received_at": _received_text(received_us),
        "category": event.category,
        "action": event.action,
        "action_type": event.action_type or infer_action_type(event.action),
        "severity": event.severity,
        "actor": {"id": actor.id, "name": actor.name, "email": actor.email, "type": actor.type},
        "targets": [{"id": t.id, "name": t.name, "type": t.type} for t in event.targets],
        "scope": event.scope,
        "result": event.result,
        "reason": event.reason,
        "source": source_doc,
        "request_id": event.request_id,
        "session_id": event.session_id,
        "description": event.description,
        "changes": changes,
        "metadata": event.metadata,
        "idempotency_key": event.idempotency_key,
    }
    try:
        canonical = canonical_json(doc, exact=free.exact, exact_only_under=FREE_JSON_FIELDS)
    except CanonicalFormError as exc:
        _check_sizes(changes, event.metadata)  # too large is said first
        raise _Bad("body", f"cannot be put in canonical form: {exc}") from None
    if len(canonical) * (_FLOAT_GROWTH if free.exact else 1) > _SIZES_CHECKED_ABOVE:
        _check_sizes(changes, event.metadata)
    digest = None
    if event.idempotency_key is not None:  # a part of the document: in canonical form too
        said = {k: v for k, v in doc.items() if k not in ("id", "seq", "received_at")}
        if event.occurred_at is None:
            said.pop("occurred_at")
        digest = sha256(canonical_json(
            said, exact=free.exact, exact_only_under=FREE_JSON_FIELDS)).digest()
    head, tail = split_at_seq(canonical)
    # Only text in metadata (not in changes) is searchable as metadata values.
    metadata_text = free.texts[metadata_text_start:]
    return PreparedEvent(
        id=doc["id"],
        id_bytes=event_id.bytes,
        occurred_us=occurred_us,
        category=event.category,
        action=event.action,
        canonical_head=head,
        canonical_tail=tail,
        terms=build_terms(tenant.id, doc, metadata_text, vector=tenant.search_vector),
        idempotency_key=event.idempotency_key,
        idempotency_digest=digest,
    )


def normalize_batch(
    events: list[EventIn], tenant: TenantInfo, received_us: int, *, batch: bool
) -> list[PreparedEvent]:
    """Validate every event; the first error rejects the whole batch."""
    if not batch:
        return [normalize_event(events[0], tenant, received_us)]
    return [
        normalize_event(event, tenant, received_us, f"events[{index}].")
        for index, event in enumerate(events)
    ]


def restore_prepared(
    doc: bytes, seq: int, tenant: TenantInfo, idempotency_digest: bytes | None
) -> PreparedEvent:
    """A stored event (its canonical form at ``seq``) made ready to be appended again,
    to another store: the same bytes, so sealed at the same seq after the same chain
    it gets the same hash. Search terms are made afresh for ``tenant`` (its id there)."""
    value = orjson.loads(doc)
    head, tail = split_at_seq(doc, seq)
    event_id = uuid.UUID(value["id"])
    return PreparedEvent(
        id=str(event_id),
        id_bytes=event_id.bytes,
        occurred_us=parse_rfc3339(value["occurred_at"]),
        category=value["category"],
        action=value["action"],
        canonical_head=head,
        canonical_tail=tail,
        terms=_stored_terms(tenant.id, value, tenant.search_vector),
        idempotency_key=value["idempotency_key"],
        idempotency_digest=idempotency_digest,
    )


def stored_terms(tenant_id: int, doc: bytes) -> EventTerms:
    """The search terms of a stored event (its canonical form), made again: what the
    full-text index was given for it when it was appended."""
    return _stored_terms(tenant_id, orjson.loads(doc), False)


def _stored_terms(tenant_id: int, value: dict[str, Any], vector: bool) -> EventTerms:
    free = _FreeJson()
    free.walk(value["metadata"], "metadata", 0)
    return build_terms(tenant_id, value, free.texts, vector=vector)
