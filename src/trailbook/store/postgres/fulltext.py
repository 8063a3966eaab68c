"""The full-text document of an event as a PostgreSQL ``tsvector``, and the
``tsquery`` pieces that search it.

Words are cut and folded here, in Python, the same way for stored events and for
queries, and the same way SQLite's ``unicode61 remove_diacritics 2`` tokenizer does
(runs of letters and digits, lower case, accents removed), so a search finds the same
events on both backends. Columns become weights: actor words A, target words B,
description and other body text C, exact-match key tokens (``trailbook.query.terms``)
D. Positions run on across the text columns with a gap between fields, so a phrase
never spans two fields."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from trailbook.query.terms import FIELD_BREAK, EventTerms

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

ACTOR = "A"
TARGET = "B"
BODY = "C"
KEYS = "D"
TEXT_WEIGHTS = "ABC"

MAX_POSITION = 16_383  # PostgreSQL's limit; later words share the last position
MAX_POSITIONS_PER_WORD = 255
MAX_WORD_BYTES = 2_000  # PostgreSQL refuses lexemes of 2 KiB and more


@lru_cache(maxsize=65_536)
def _fold(word: str) -> str:
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of ``text`` as both sides of a search see them."""
    out = []
    for raw in _WORD.findall(text):
        folded = _fold(raw)
        if folded and len(folded.encode()) <= MAX_WORD_BYTES:
            out.append(folded)
    return out


def tsvector_text(terms: EventTerms) -> str:
    """``terms`` as a tsvector literal, positions and weights included."""
    positions: dict[str, list[str]] = {}
    position = 0
    for column, weight in ((terms.actor, ACTOR), (terms.target, TARGET), (terms.body, BODY)):
        if not column:
            continue
        for part in column.split(FIELD_BREAK):
            position += 1  # the gap between two fields
            for word in words(part):
                position = min(position + 1, MAX_POSITION)
                seen = positions.get(word)
                entry = f"{position}{weight}"
                if seen is None:
                    positions[word] = [entry]
                elif len(seen) < MAX_POSITIONS_PER_WORD and seen[-1] != entry:
                    seen.append(entry)
    out = [f"'{word}':{','.join(places)}" for word, places in positions.items()]
    # Key tokens are letters and digits only, unique within an event's keys column.
    out.extend(f"'{key}':1{KEYS}" for key in dict.fromkeys(terms.keys.split()))
    return " ".join(out)


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
