"""Events as CSV (RFC 4180: comma-separated, fields quoted when needed, CRLF line
ends, UTF-8 without a byte order mark), one event per row after a header row.

Nested values are flattened: the actor, the first target and the source get columns
of their own; the other targets, ``changes`` and ``metadata`` are JSON in one cell
(empty when there are none).

Formula injection: spreadsheet programs run a cell that starts with ``=``, ``+``,
``-`` or ``@`` (and some a tab or carriage return before one) as a formula, so an
event's text could make the reader's spreadsheet compute or fetch something. Every
such cell is written with a leading ``'``, which spreadsheets show as text; a reader
that parses the file as data should drop a leading ``'`` before those characters."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

COLUMNS: tuple[str, ...] = (
    "id", "seq", "occurred_at", "received_at", "category", "action", "action_type",
    "severity", "result", "reason", "actor_id", "actor_name", "actor_email", "actor_type",
    "target_type", "target_id", "target_name", "other_targets", "scope", "ip", "user_agent",
    "country", "request_id", "session_id", "description", "changes", "metadata", "hash",
)

# The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(cell: str) -> str:
    """``cell`` made safe to open in a spreadsheet (see the module's notes)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _json(value: Any) -> str:
    return orjson.dumps(value).decode() if value else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return guard(value if isinstance(value, str) else str(value))


def row(event: dict[str, Any]) -> list[str]:
    """One event document (with ``hash``) as the cells of ``COLUMNS``."""
    actor = event.get("actor") or {}
    targets = event.get("targets") or []
    first = targets[0] if targets else {}
    source = event.get("source") or {}
    values = (
        event.get("id"), event.get("seq"), event.get("occurred_at"),
        event.get("received_at"), event.get("category"), event.get("action"),
        event.get("action_type"), event.get("severity"), event.get("result"),
        event.get("reason"), actor.get("id"), actor.get("name"), actor.get("email"),
        actor.get("type"), first.get("type"), first.get("id"), first.get("name"),
        _json(targets[1:]), event.get("scope"), source.get("ip"), source.get("user_agent"),
        source.get("country"), event.get("request_id"), event.get("session_id"),
        event.get("description"), _json(event.get("changes")), _json(event.get("metadata")),
        event.get("hash"),
    )
    return [_text(v) for v in values]


class CsvWriter:
    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer)  # the excel dialect: RFC 4180

    def _take(self) -> bytes:
        out = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return out

    def begin(self) -> bytes:
        self._csv.writerow(COLUMNS)
        return self._take()

    def write(self, events: list[dict[str, Any]]) -> bytes:
        self._csv.writerows(row(e) for e in events)
        return self._take()

    def end(self) -> bytes:
        return b""
