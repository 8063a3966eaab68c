"""The one filter model (DESIGN §5), shared by the API, the CLI, and later the pages,
exports and alert rules. Values inside one field are OR-ed; fields are AND-ed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class EventFilter:
    since_us: int | None = None  # occurred_at >= since
    until_us: int | None = None  # occurred_at < until
    categories: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # exact
    action_prefixes: tuple[str, ...] = ()  # "miner" matches miner.* (any depth)
    action_types: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    actor: str | None = None  # words, matched as prefixes in actor id, name, email
    actor_ids: tuple[str, ...] = ()
    actor_emails: tuple[str, ...] = ()
    actor_types: tuple[str, ...] = ()
    target: str | None = None  # words, matched as prefixes in target names
    target_ids: tuple[str, ...] = ()
    target_names: tuple[str, ...] = ()  # the name's words, as a phrase
    target_types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    ips: tuple[IPNetwork, ...] = ()
    request_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    text: str | None = None  # free text: words and "quoted phrases"
    tags: tuple[str, ...] = ()  # annotation tags, lower case
    # Conditions an event must not meet: it is left out if it matches any one set
    # field of ``exclude`` (so -a -b is NOT a AND NOT b). Never holds a time range.
    exclude: EventFilter | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, ()) for f in fields(self))

    def describe(self) -> dict[str, object]:
        """The set fields, for logs and audit records."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, ()):
                continue
            if isinstance(value, EventFilter):
                out[f.name] = value.describe()
            else:
                out[f.name] = [str(v) for v in value] if isinstance(value, tuple) else value
        return out

    def excluded(self) -> EventFilter | None:
        """``exclude`` if it sets anything."""
        return self.exclude if self.exclude is not None and not self.exclude.is_empty() else None
