"""Test helpers: record events in memory instead of sending them.

Public API::

    from trailbook.testing import capture      # (or trailbook.sdk.testing)

    with capture() as events:                   # events: Captured (a list of dicts)
        client.log("invoice.update", actor="u-1")
    assert events.actions == ["invoice.update"]
    events.find(action="invoice.update", actor="u-1") -> list[dict]
    events.one(action=...) -> dict              # exactly one, or AssertionError

While ``capture()`` is active every ``Client``, ``AsyncClient`` and ``LocalClient`` —
made before or inside it — validates each event exactly as for real, then records it
(the JSON object that would be sent, as plain Python values) instead of queueing it.
Captures nest: the innermost one receives the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from trailbook.sdk._event import CaptureHook


class Captured(list[dict[str, Any]]):
    """The events recorded by ``capture()``, in logging order."""

    @property
    def actions(self) -> list[str]:
        return [event["action"] for event in self]

    def find(self, action: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Events with this ``action`` (a trailing ``*`` matches a prefix) whose top-level
        fields equal ``fields``; ``actor="u-1"`` matches the actor's id."""
        found = []
        for event in self:
            if action is not None and not _action_matches(event["action"], action):
                continue
            if all(_field_matches(event, name, want) for name, want in fields.items()):
                found.append(event)
        return found

    def one(self, action: str | None = None, **fields: Any) -> dict[str, Any]:
        found = self.find(action, **fields)
        if len(found) != 1:
            raise AssertionError(f"expected one event matching {action!r} {fields}, "
                                 f"found {len(found)}; captured: {self.actions}")
        return found[0]


def _action_matches(action: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return action.startswith(pattern[:-1])
    return action == pattern


def _field_matches(event: dict[str, Any], name: str, want: Any) -> bool:
    value = event.get(name)
    if name == "actor" and isinstance(want, str):
        return isinstance(value, dict) and value.get("id") == want
    return bool(value == want)


@contextmanager
def capture() -> Iterator[Captured]:
    """Record every event logged inside the block instead of sending it."""
    events = Captured()
    outer: Callable[[str, bytes], None] | None = CaptureHook.sink

    def record(key: str, body: bytes) -> None:
        events.append(msgspec.json.decode(body))

    CaptureHook.sink = record
    try:
        yield events
    finally:
        CaptureHook.sink = outer
