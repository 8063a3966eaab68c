"""The plain records of alerts, shared by the store, the rule engine, the channels and
the service. No SQL, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChannelKind = Literal["email", "slack", "telegram", "webhook"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("email", "slack", "telegram", "webhook")
DeliveryKind = Literal["alert", "summary", "test"]
DeliveryState = Literal["pending", "delivered", "dead"]
DELIVERY_STATES: tuple[DeliveryState, ...] = ("pending", "delivered", "dead")


@dataclass(frozen=True, slots=True)
class Channel:
    """Where alert messages go. ``config`` holds the kind's settings, secrets included
    (an SMTP password, a bot token, a webhook secret): the API and pages show it with
    the secrets masked."""

    id: int
    tenant_id: int
    name: str
    kind: ChannelKind
    config: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class Rule:
    """Events matching ``query`` (the query language) raise an alert: each one when
    ``threshold`` is 1, else once ``threshold`` of them fall within ``window_seconds``
    of each other (counted per value of ``group_by`` when set, e.g. ``source.ip``).
    After an alert, further matches of the same group within ``quiet_seconds`` are only
    counted, and one summary follows when the quiet period ends."""

    id: int
    tenant_id: int
    name: str
    query: str
    threshold: int
    window_seconds: int
    group_by: str | None
    quiet_seconds: int
    channels: tuple[int, ...]  # channel ids
    enabled: bool
    created_at: str
    updated_at: str


@dataclass(slots=True)
class RuleState:
    """What the engine remembers of one rule and group between events (persisted, so
    a restart neither repeats an alert nor forgets a window or a quiet period)."""

    rule_id: int
    group_key: str
    # occurred_at (µs) of the latest matches, oldest first, at most threshold of them.
    window: list[int] = field(default_factory=list)
    quiet_until_us: int = 0  # 0: not in a quiet period
    suppressed: int = 0  # matches counted during the quiet period
    suppressed_ids: list[str] = field(default_factory=list)  # the first few of them
    first_suppressed_us: int = 0
    last_suppressed_us: int = 0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one channel: the outbox row. ``id`` is the stable delivery id
    (sent with every attempt, so a receiver can drop duplicates)."""

    id: str
    tenant_id: int
    rule_id: int | None  # None for a test message
    channel_id: int
    kind: DeliveryKind
    message: dict[str, Any]  # notify.message.Message as JSON
    state: DeliveryState
    attempts: int
    next_attempt_us: int
    last_error: str | None
    created_at: str
    delivered_at: str | None
