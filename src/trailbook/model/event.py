"""The event as a client sends it (``EventIn``), decoded and type-checked by msgspec.

Rules msgspec cannot express (formats, server-owned fields, free-JSON limits) live in
``model.normalize``. Field names are the API's names (DESIGN §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from trailbook.model import limits as L

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=L.MAX_ID)]
Name = Annotated[str, msgspec.Meta(max_length=L.MAX_NAME)]
Email = Annotated[str, msgspec.Meta(max_length=L.MAX_EMAIL)]
TypeName = Annotated[str, msgspec.Meta(min_length=1, max_length=L.MAX_TYPE)]
IpText = Annotated[str, msgspec.Meta(max_length=45)]
UserAgent = Annotated[str, msgspec.Meta(max_length=L.MAX_USER_AGENT)]
Country = Annotated[str, msgspec.Meta(max_length=2)]
ChangeField = Annotated[str, msgspec.Meta(min_length=1, max_length=L.MAX_CHANGE_FIELD)]
Action = Annotated[str, msgspec.Meta(min_length=1, max_length=L.MAX_ACTION)]
Category = Annotated[str, msgspec.Meta(min_length=1, max_length=L.MAX_CATEGORY)]
Scope = Annotated[str, msgspec.Meta(max_length=L.MAX_SCOPE)]
Reason = Annotated[str, msgspec.Meta(max_length=L.MAX_REASON)]
CorrelationId = Annotated[str, msgspec.Meta(max_length=L.MAX_CORRELATION_ID)]
Description = Annotated[str, msgspec.Meta(max_length=L.MAX_DESCRIPTION)]
IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=L.MAX_IDEMPOTENCY_KEY)]

ActorType = Literal["user", "system", "api_key", "automation"]
ActionType = Literal[
    "create", "read", "update", "delete", "login", "logout",
    "export", "execute", "permission", "other",
]  # fmt: skip
Severity = Literal["info", "notice", "warning", "critical"]
Result = Literal["success", "failure"]


# gc=False: decoded events hold only JSON values and cannot form reference cycles, so
# the cycle collector need not track them (measured: it otherwise re-scans them).
class ActorIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    id: Id
    name: Name | None = None
    email: Email | None = None
    type: ActorType = "user"


class TargetIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    id: Id
    type: TypeName
    name: Name | None = None


class SourceIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    ip: IpText | None = None
    user_agent: UserAgent | None = None
    country: Country | None = None


class ChangeIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    field: ChangeField
    old: Any = None
    new: Any = None


class EventIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    action: Action
    actor: ActorIn
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    category: Category = "general"
    action_type: ActionType | None = None
    severity: Severity = "info"
    targets: Annotated[list[TargetIn], msgspec.Meta(max_length=L.MAX_TARGETS)] = []
    scope: Scope | None = None
    result: Result = "success"
    reason: Reason | None = None
    source: SourceIn | None = None
    request_id: CorrelationId | None = None
    session_id: CorrelationId | None = None
    description: Description | None = None
    changes: Annotated[list[ChangeIn], msgspec.Meta(max_length=L.MAX_CHANGES)] = []
    metadata: dict[str, Any] = {}
    idempotency_key: IdempotencyKey | None = None
    # Server-owned fields: accepted by the decoder only so that a client who sends
    # them is told precisely why they are refused.
    id: Any = msgspec.UNSET
    tenant: Any = msgspec.UNSET
    seq: Any = msgspec.UNSET
    received_at: Any = msgspec.UNSET
    hash: Any = msgspec.UNSET


SERVER_FIELDS = ("id", "tenant", "seq", "received_at", "hash")

_single_decoder = msgspec.json.Decoder(EventIn)
_batch_decoder = msgspec.json.Decoder(list[EventIn])


def decode_events(body: bytes) -> tuple[list[EventIn], bool]:
    """Decode a JSON body holding one event (an object) or a batch (an array).

    Returns the events and whether the body was a batch. Raises msgspec errors,
    which ``model.normalize.translate_decode_error`` turns into Trailbook errors."""
    first = body.lstrip()[:1]
    if first == b"[":
        return _batch_decoder.decode(body), True
    return [_single_decoder.decode(body)], False


def convert_events(items: list[Any]) -> list[EventIn]:
    """Type-check already-parsed JSON values (e.g. NDJSON lines) as events."""
    return msgspec.convert(items, list[EventIn])


def convert_event(item: Any) -> EventIn:
    return msgspec.convert(item, EventIn)
