"""What an alert says, independent of the channel that carries it: who did what to
what, when and from where, with links into the console. A ``Message`` is built once
when a rule fires, stored with its delivery (as JSON) and rendered by each channel."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast
from urllib.parse import quote, urlencode

from trailbook.model.timefmt import format_us, parse_rfc3339
from trailbook.notify.records import Rule

MessageKind = Literal["alert", "summary", "test"]
MAX_EVENTS = 10  # events a message shows
MAX_EVENT_IDS = 100  # event ids a message carries
SEVERITY_ORDER: tuple[str, ...] = ("info", "notice", "warning", "critical")
# A summary stands for events it does not show: it says so at "notice".
SUMMARY_SEVERITY = "notice"


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One event as a message shows it: texts ready to print, and its console link."""

    id: str
    seq: int
    occurred_at: str  # RFC 3339, as stored
    category: str
    action: str
    result: str | None
    severity: str | None
    actor: str  # "Alice Smith <alice@example.com>", else name, email or "type:id"
    target: str  # "user:42 (Bob)", "+N more" when several; "" when none
    ip: str | None
    description: str | None
    link: str  # the event's page in the console

    def line(self) -> str:
        """``<when> <actor> did <action> (<result>) to <target> from <ip>``; the parts
        an event does not have are left out."""
        out = f"{readable_time(self.occurred_at)} {self.actor} did {self.action}"
        if self.result:
            out += f" ({self.result})"
        if self.target:
            out += f" to {self.target}"
        if self.ip:
            out += f" from {self.ip}"
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MessageEvent:
        return cls(
            id=str(data["id"]), seq=int(data["seq"]), occurred_at=str(data["occurred_at"]),
            category=str(data["category"]), action=str(data["action"]),
            result=_opt(data.get("result")), severity=_opt(data.get("severity")),
            actor=str(data["actor"]), target=str(data.get("target", "")),
            ip=_opt(data.get("ip")), description=_opt(data.get("description")),
            link=str(data["link"]),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """An alert, a summary of a quiet period, or a channel test, as every channel
    renders it. ``text`` is the plain-text body: a line per event and the link."""

    kind: MessageKind
    tenant: str
    rule: str | None  # the rule's name; None for a test
    title: str
    severity: str  # the highest of the events; "info" for a test
    text: str
    count: int  # events the message stands for (a summary: the suppressed count)
    events: tuple[MessageEvent, ...]  # at most MAX_EVENTS
    event_ids: tuple[str, ...]  # at most MAX_EVENT_IDS
    link: str  # one event: its page; else a search of the rule's query

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "tenant": self.tenant, "rule": self.rule,
            "title": self.title, "severity": self.severity, "text": self.text,
            "count": self.count, "events": [e.to_json() for e in self.events],
            "event_ids": list(self.event_ids), "link": self.link,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        kind = str(data["kind"])
        if kind not in ("alert", "summary", "test"):
            raise ValueError(f"not a message kind: {kind!r}")
        return cls(
            kind=cast(MessageKind, kind), tenant=str(data["tenant"]),
            rule=_opt(data.get("rule")), title=str(data["title"]),
            severity=str(data["severity"]), text=str(data["text"]),
            count=int(data["count"]),
            events=tuple(MessageEvent.from_json(e) for e in data.get("events", ())),
            event_ids=tuple(str(i) for i in data.get("event_ids", ())),
            link=str(data["link"]),
        )


def alert_message(tenant: str, rule: Rule, docs: list[dict[str, Any]], count: int,
                  console_url: str, event_ids: Sequence[str] | None = None) -> Message:
    """The message of a rule that fired on ``docs`` (stored event documents, oldest
    first; the first MAX_EVENTS are shown) standing for ``count`` events.
    ``event_ids``: every id the alert stands for (default: the ids of ``docs``)."""
    base = console_url.rstrip("/")
    events = tuple(message_event(d, base) for d in docs[:MAX_EVENTS])
    ids = tuple(event_ids if event_ids is not None else (str(d.get("id", "")) for d in docs))
    count = max(count, len(docs))
    if count == 1 and events:
        first = events[0]
        title = f"{rule.name}: {first.actor} did {first.action}"
        link = first.link
    else:
        title = f"{rule.name}: {count} matching events"
        link = search_link(base, rule.query)
    lines = [e.line() for e in events]
    if count > len(events):
        lines.append(f"… and {count - len(events)} more")
    lines.append(link)
    return Message(
        kind="alert", tenant=tenant, rule=rule.name, title=title,
        severity=highest_severity(e.severity for e in events), text="\n".join(lines),
        count=count, events=events, event_ids=ids[:MAX_EVENT_IDS], link=link,
    )


def summary_message(tenant: str, rule: Rule, group_key: str, count: int, first_us: int,
                    last_us: int, sample_ids: list[str], console_url: str) -> Message:
    """The message that ends a quiet period: ``count`` further matches of ``rule`` (in
    ``group_key``) between ``first_us`` and ``last_us`` were counted, not sent."""
    base = console_url.rstrip("/")
    first, last = format_us(first_us), format_us(last_us)
    group = f" for {rule.group_by} = {group_key}" if rule.group_by else ""
    link = search_link(base, rule.query, since=first, until=format_us(last_us + 1))
    noun = "event" if count == 1 else "events"
    title = f"{rule.name}: {count} more matching {noun} during the quiet period"
    text = (
        f"{count} more {noun} matched {rule.name}{group} from {readable_time(first)} "
        f"to {readable_time(last)}; they were counted, not sent one by one.\n{link}"
    )
    return Message(
        kind="summary", tenant=tenant, rule=rule.name, title=title,
        severity=SUMMARY_SEVERITY, text=text, count=count, events=(),
        event_ids=tuple(sample_ids[:MAX_EVENT_IDS]), link=link,
    )


def test_message(tenant: str, channel_name: str, console_url: str) -> Message:
    """A message that only shows a channel works."""
    link = f"{console_url.rstrip('/')}/logs"
    title = f"Trailbook test message for channel {channel_name}"
    text = (
        f"This is a test from Trailbook (tenant {tenant}): channel {channel_name} "
        f"delivers alerts.\n{link}"
    )
    return Message(kind="test", tenant=tenant, rule=None, title=title, severity="info",
                   text=text, count=0, events=(), event_ids=(), link=link)


# Not a test, whatever its name says: pytest must not collect it where it is imported.
test_message.__test__ = False  # type: ignore[attr-defined]


def message_event(doc: Mapping[str, Any], console_url: str) -> MessageEvent:
    """A stored event document as a message shows it."""
    event_id = str(doc.get("id", ""))
    source = doc.get("source") or {}
    return MessageEvent(
        id=event_id, seq=int(doc.get("seq") or 0), occurred_at=str(doc.get("occurred_at", "")),
        category=str(doc.get("category", "")), action=str(doc.get("action", "")),
        result=_opt(doc.get("result")), severity=_opt(doc.get("severity")),
        actor=describe_actor(doc.get("actor") or {}),
        target=describe_targets(doc.get("targets") or []),
        ip=_opt(source.get("ip")) if isinstance(source, Mapping) else None,
        description=_opt(doc.get("description")),
        link=f"{console_url.rstrip('/')}/events/{quote(event_id, safe='')}",
    )


def describe_actor(actor: Mapping[str, Any]) -> str:
    """``Name <email>``, else the name or the email, else ``type:id``."""
    name, email = _opt(actor.get("name")), _opt(actor.get("email"))
    if name and email:
        return f"{name} <{email}>"
    if name or email:
        return str(name or email)
    return f"{actor.get('type') or 'user'}:{actor.get('id') or '?'}"


def describe_targets(targets: Sequence[Mapping[str, Any]]) -> str:
    """The first target as ``type:id (name)``, ``+N more`` when there are others."""
    if not targets:
        return ""
    first = targets[0]
    out = f"{first.get('type') or '?'}:{first.get('id') or '?'}"
    if first.get("name"):
        out += f" ({first['name']})"
    if len(targets) > 1:
        out += f" +{len(targets) - 1} more"
    return out


def highest_severity(severities: Iterable[str | None]) -> str:
    """The most severe of ``severities`` (unknown or missing ones count as info)."""
    rank = max((SEVERITY_ORDER.index(s) for s in severities if s in SEVERITY_ORDER),
               default=0)
    return SEVERITY_ORDER[rank]


def search_link(console_url: str, query: str, **params: str) -> str:
    """The console's search page for ``query`` (and extra parameters)."""
    items = [("query", query)] if query.strip() else []
    items += list(params.items())
    suffix = f"?{urlencode(items)}" if items else ""
    return f"{console_url.rstrip('/')}/logs{suffix}"


def readable_time(text: str) -> str:
    """An RFC 3339 time as ``2026-01-31 12:00:00 UTC``; other text unchanged."""
    try:
        us = parse_rfc3339(text)
    except ValueError:
        return text
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(us // 1_000_000))


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
