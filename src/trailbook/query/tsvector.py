"""An event's search terms as a PostgreSQL ``tsvector``, made in Python.

Words are cut and folded the same way for stored events and for queries, and the same
way SQLite's ``unicode61 remove_diacritics 2`` tokenizer does (runs of letters and
digits, lower case, accents removed), so a search finds the same events on both
backends. Columns become weights: actor words A, target words B, description and other
body text C, exact-match key tokens (``terms``) D. Positions run on across the text
columns with a gap between fields, so a phrase never spans two fields.

Pure Python, no SQL: it runs where validation runs (in the ingest worker processes)
when the store asks for it, and the PostgreSQL store only passes it on, in the binary
form of a binary COPY."""

from __future__ import annotations

import re
import struct
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


# A position as PostgreSQL stores it (WordEntryPos): weight in the top two bits.
_WEIGHT_BITS = {ACTOR: 3 << 14, TARGET: 2 << 14, BODY: 1 << 14, KEYS: 0}
_WEIGHT_LETTER = {bits: letter for letter, bits in _WEIGHT_BITS.items()}
_POSITION_MASK = 0x3FFF
_KEY_POSITION = 1 | _WEIGHT_BITS[KEYS]  # text positions start at 2


def lexemes(terms: EventTerms) -> dict[str, list[int]]:
    """Each lexeme of ``terms`` and its positions (WordEntryPos: position and weight
    bits), increasing, each position once (the highest weight kept), as PostgreSQL
    would read them from a literal."""
    positions: dict[str, list[int]] = {}
    position = 0
    for column, weight in ((terms.actor, ACTOR), (terms.target, TARGET), (terms.body, BODY)):
        if not column:
            continue
        bits = _WEIGHT_BITS[weight]
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
                positions[word] = [position | bits]
            elif seen[-1] & _POSITION_MASK == position:  # a word repeated at the cap
                seen[-1] = position | max(bits, seen[-1] & ~_POSITION_MASK)
            elif len(seen) < MAX_POSITIONS_PER_WORD:
                seen.append(position | bits)
    # Key tokens are letters and digits only; one position is enough for them.
    for key in terms.keys.split():
        seen = positions.get(key)
        if seen is None:
            positions[key] = [_KEY_POSITION]
        elif seen[0] != _KEY_POSITION:  # a text word that is also a key token
            if len(seen) >= MAX_POSITIONS_PER_WORD:
                seen.pop()
            seen.insert(0, _KEY_POSITION)
    return positions


def tsvector_text(terms: EventTerms) -> str:
    """``terms`` as a tsvector literal (the readable form of ``tsvector_binary``)."""
    return " ".join(
        f"'{word}':" + ",".join(f"{p & _POSITION_MASK}{_WEIGHT_LETTER[p & ~_POSITION_MASK]}"
                                for p in places)
        for word, places in lexemes(terms).items())


def tsvector_binary(terms: EventTerms) -> bytes:
    """``terms`` as a tsvector in PostgreSQL's binary form (``tsvectorrecv``), for a
    binary COPY: the server reads it in ~5 µs an event against ~13 µs for parsing
    the literal (docs/benchmarks.md). Lexemes need not be sorted; the server sorts."""
    found = lexemes(terms)
    out = [len(found).to_bytes(4, "big")]
    for word, places in found.items():
        out.append(word.encode())
        out.append(struct.pack(f"!xH{len(places)}H", len(places), *places))
    return b"".join(out)
