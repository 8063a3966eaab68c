"""The group keys of alert rules: which field of an event a rule counts by
(``group_by``), and the key an event falls under.

A key is the field's value as text; a missing (or empty) value is a group of its own,
``"-"``; a rule without ``group_by`` counts every match under ``""``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

GROUP_FIELDS: tuple[str, ...] = (
    "actor.id", "actor.email", "actor.name", "actor.type",
    "source.ip", "source.country",
    "target.type", "target.id",
    "category", "action", "result", "scope", "session_id", "request_id",
)  # fmt: skip
METADATA_PREFIX = "metadata."
MISSING = "-"
NO_GROUP = ""
# Longer keys (free-form metadata) are shortened, a digest of the whole kept.
MAX_KEY = 200

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

KeyFunction = Callable[[dict[str, Any]], str]


def group_by_problem(group_by: str) -> str | None:
    """Why ``group_by`` cannot be a rule's grouping, or None when it can."""
    if group_by in GROUP_FIELDS:
        return None
    if group_by.startswith(METADATA_PREFIX):
        key = group_by[len(METADATA_PREFIX):]
        if _IDENTIFIER.match(key):
            return None
        return (f"{group_by!r}: a metadata key must be a plain identifier "
                "(letters, digits and _, not starting with a digit)")
    return f"{group_by!r} is not one of {', '.join(GROUP_FIELDS)} or metadata.<key>"


def as_key(value: Any) -> str:
    """A field's value as a group key."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:  # a JSON object or list in metadata
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= MAX_KEY:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[:MAX_KEY - 17]}~{digest}"


def _nested(outer: str, inner: str) -> KeyFunction:
    def key(doc: dict[str, Any]) -> str:
        part = doc.get(outer)
        return as_key(part.get(inner) if isinstance(part, dict) else None)
    return key


def _top(name: str) -> KeyFunction:
    def key(doc: dict[str, Any]) -> str:
        return as_key(doc.get(name))
    return key


def _first_target(inner: str) -> KeyFunction:
    def key(doc: dict[str, Any]) -> str:
        targets = doc.get("targets") or []
        first = targets[0] if targets else None
        return as_key(first.get(inner) if isinstance(first, dict) else None)
    return key


def _no_group(doc: dict[str, Any]) -> str:
    return NO_GROUP


def key_function(group_by: str | None) -> KeyFunction:
    """The function giving an event document's group key under ``group_by`` (which
    must be valid: see ``group_by_problem``)."""
    if group_by is None:
        return _no_group
    problem = group_by_problem(group_by)
    if problem is not None:
        raise ValueError(problem)
    head, _, tail = group_by.partition(".")
    if head == "target":
        return _first_target(tail)
    if tail:  # actor.*, source.*, metadata.<key>
        return _nested(head, tail)
    return _top(head)


def group_key(group_by: str | None, doc: dict[str, Any]) -> str:
    return key_function(group_by)(doc)
