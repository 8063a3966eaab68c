"""An event's search terms as a PostgreSQL ``tsvector`` literal, made in Python.

Words are cut and folded the same way for stored events and for queries, and the same
way SQLite's ``unicode61 remove_diacritics 2`` tokenizer does (runs of letters and
digits, lower case, accents removed), so a search finds the same events on both
backends. Columns become weights: actor words A, target words B, description and other
body text C, exact-match key tokens (``terms``) D. Positions run on across the text
columns with a gap between fields, so a phrase never spans two fields.

Pure Python, no SQL: it runs where validation runs (in the ingest worker processes)
when the store asks for it, and the PostgreSQL store only passes the text on."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trailbook.query.terms import EventTerms

FIELD_BREAK_WORD = "zzfieldbreakzz"  # terms.FIELD_BREAK, stripped

ACTOR = "A"
TARGET = "B"
BODY = "C"
KEYS = "D"
TEXT_WEIGHTS = "ABC"

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

MAX_POSITION = 16_383  # PostgreSQL's limit; later words share the last position
MAX_POSITIONS_PER_WORD = 255
MAX_WORD_BYTES = 2_000  # PostgreSQL refuses lexemes of 2 KiB and more


def _fold_text(text: str) -> str:
    """Lower case, accents removed (as unicode61's remove_diacritics 2)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _raw_words(text: str) -> list[str]:
    return _WORD.findall(_fold_text(text))


def words(text: str) -> list[str]:
    """The words of ``text`` as both sides of a search see them."""
    return [w for w in _raw_words(text)
            if len(w) * 4 <= MAX_WORD_BYTES or len(w.encode()) <= MAX_WORD_BYTES]


def tsvector_text(terms: EventTerms) -> str:
    """``terms`` as a tsvector literal, positions and weights included."""
    positions: dict[str, list[str]] = {}
    position = 0
    for column, weight in ((terms.actor, ACTOR), (terms.target, TARGET), (terms.body, BODY)):
        if not column:
            continue
        position += 1  # the gap before each field
        for word in _raw_words(column):
            if word == FIELD_BREAK_WORD:
                position += 1
                continue
            if position < MAX_POSITION:
                position += 1
            seen = positions.get(word)
            if seen is None:
                if len(word) * 4 > MAX_WORD_BYTES and len(word.encode()) > MAX_WORD_BYTES:
                    continue
                positions[word] = [f"{position}{weight}"]
            elif len(seen) < MAX_POSITIONS_PER_WORD:
                seen.append(f"{position}{weight}")
    out = [f"'{word}':{','.join(dict.fromkeys(places))}" for word, places in positions.items()]
    # Key tokens are letters and digits only; one position is enough for them.
    out.extend(f"'{key}':1{KEYS}" for key in dict.fromkeys(terms.keys.split()))
    return " ".join(out)
