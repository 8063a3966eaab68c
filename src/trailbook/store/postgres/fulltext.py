"""The ``tsquery`` pieces that search the ``search`` tsvector of PostgreSQL events
(made by ``trailbook.query.tsvector``, with the same words and weights)."""

from __future__ import annotations

from trailbook.query.tsvector import (
    ACTOR,
    BODY,
    KEYS,
    TARGET,
    TEXT_WEIGHTS,
    words,
)

__all__ = ["ACTOR", "BODY", "KEYS", "TARGET", "TEXT_WEIGHTS", "words"]


def lexeme(word: str, weights: str, *, prefix: bool = False) -> str:
    """One tsquery operand. ``word`` comes from ``words`` or is a key token, so it
    holds no quote or backslash."""
    return f"'{word}':{'*' if prefix else ''}{weights}"


def phrase(text: str, weights: str) -> str | None:
    """The words of ``text`` next to each other, or None when it has none."""
    found = words(text)
    if not found:
        return None
    if len(found) == 1:
        return lexeme(found[0], weights)
    return "(" + " <-> ".join(lexeme(w, weights) for w in found) + ")"


def any_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def all_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"
