"""Errors of the Python SDK.

- ``SdkError``: the base of every SDK error.
- ``InvalidEvent(field, reason)``: a ``ValueError`` raised by ``log()`` in the caller's
  thread when an event breaks the rules the server would enforce; ``.field`` names the
  offending field (``actor.email``, ``targets[1].type``) as the server's 422 would.
- ``ClientClosed``: ``log()`` on a client after ``close()``.
"""

from __future__ import annotations


class SdkError(Exception):
    """Base class of the SDK's errors."""


class InvalidEvent(SdkError, ValueError):
    """An event the service would refuse. ``field`` names the field, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ClientClosed(SdkError, RuntimeError):
    """The client was closed; it takes no more events."""
