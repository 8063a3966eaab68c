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
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trailbook.query.terms import EventTerms


# Put between the parts of a text column so that a phrase never spans two fields
# (a description and a reason, two target names). A token no text will hold.
FIELD_BREAK_WORD = "zzfieldbreakzz"
FIELD_BREAK = f"\n{FIELD_BREAK_WORD}\n"

ACTOR = "A"
TARGET = "B"
BODY = "C"
KEYS = "D"
TEXT_WEIGHTS = "ABC"

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9]+")  # the same, in lower-cased ASCII text (faster)

MAX_POSITION = 16_383  # PostgreSQL's limit; later words share the last position
MAX_POSITIONS_PER_WORD = 255
MAX_WORD_BYTES = 2_000  # PostgreSQL refuses lexemes of 2 KiB and more


@lru_cache(maxsize=32_768)
def _folded_words(chunk: str) -> tuple[str, ...]:
    """The words of a lower-cased run of non-space text holding non-ASCII characters:
    decomposed (NFKD), combining marks removed, as unicode61's remove_diacritics 2.
    Names and words repeat, so each run is folded once."""
    decomposed = unicodedata.normalize("NFKD", chunk)
    return tuple(_WORD.findall("".join(c for c in decomposed
                                       if not unicodedata.combining(c))))


def _raw_words(text: str) -> list[str]:
    """Runs of letters and digits, lower case, accents removed. Folding works run of
    non-space text by run: no character's decomposition reaches across a space, so
    the words are those of the whole text folded (a property test checks it)."""
    lowered = text.lower()
    if lowered.isascii():
        return _ASCII_WORD.findall(lowered)
    found: list[str] = []
    for chunk in lowered.split():
        if chunk.isascii():
            found += _ASCII_WORD.findall(chunk)
        else:
            found += _folded_words(chunk)
    return found


def words(text: str) -> list[str]:
    """The words of ``text`` as both sides of a search see them."""
    return [w for w in _raw_words(text)
            if len(w) * 4 <= MAX_WORD_BYTES or len(w.encode()) <= MAX_WORD_BYTES]


# A position as PostgreSQL stores it (WordEntryPos): weight in the top two bits.
_WEIGHT_BITS = {ACTOR: 3 << 14, TARGET: 2 << 14, BODY: 1 << 14, KEYS: 0}
_WEIGHT_LETTER = {bits: letter for letter, bits in _WEIGHT_BITS.items()}
_POSITION_MASK = 0x3FFF
_KEY_POSITION = 1 | _WEIGHT_BITS[KEYS]  # text positions start at 2


# A word's positions: a tuple where shared with the actor's cached lexemes (copied to
# a list only when an event adds to them).
Places = list[int] | tuple[int, ...]


def _add_words(positions: dict[str, Places], column: str, bits: int, position: int) -> int:
    """Add the words of one text column, after a gap, from ``position``; return the
    position of its last word."""
    position = min(position + 1, MAX_POSITION)  # the gap before each field
    for word in _raw_words(column):
        if position < MAX_POSITION:
            position += 1
        if word == FIELD_BREAK_WORD:
            continue  # a gap between two fields
        seen = positions.get(word)
        if seen is None:
            if len(word) * 4 > MAX_WORD_BYTES and len(word.encode()) > MAX_WORD_BYTES:
                continue
            positions[word] = [position | bits]
            continue
        if isinstance(seen, tuple):
            seen = positions[word] = list(seen)
        if seen[-1] & _POSITION_MASK == position:  # a word repeated at the cap
            seen[-1] = position | max(bits, seen[-1] & ~_POSITION_MASK)
        elif len(seen) < MAX_POSITIONS_PER_WORD:
            seen.append(position | bits)
    return position


@lru_cache(maxsize=16_384)  # the same staff and automations act again and again
def _actor_lexemes(actor: str) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], int]:
    """The lexemes of an actor column (always the first), and its last position."""
    positions: dict[str, Places] = {}
    position = _add_words(positions, actor, _WEIGHT_BITS[ACTOR], 0)
    return tuple((word, tuple(places)) for word, places in positions.items()), position


def lexemes(terms: EventTerms) -> tuple[dict[str, Places], list[str]]:
    """The lexemes of ``terms``, as PostgreSQL would read them from a literal: the
    words, each with its positions (WordEntryPos: position and weight bits),
    increasing, each position once (the highest weight kept); and the key tokens that
    are not also words, each at position 1 with weight D (one is enough for them).
    A key token that is also a word is among the words, with position 1D first.

    The actor's words are made once per actor; the target and body columns follow
    from its last position."""
    positions: dict[str, Places] = {}
    position = 0
    if terms.actor:
        actor, position = _actor_lexemes(terms.actor)
        positions.update(actor)
    for column, weight in ((terms.target, TARGET), (terms.body, BODY)):
        if column:
            position = _add_words(positions, column, _WEIGHT_BITS[weight], position)
    keys = list(dict.fromkeys(terms.keys.split()))
    also_words = positions.keys() & keys
    for key in also_words:  # a text word that is also a key token
        seen = list(positions[key])
        if len(seen) >= MAX_POSITIONS_PER_WORD:
            seen.pop()
        seen.insert(0, _KEY_POSITION)
        positions[key] = seen
    if also_words:
        keys = [key for key in keys if key not in also_words]
    return positions, keys


def tsvector_text(terms: EventTerms) -> str:
    """``terms`` as a tsvector literal (the readable form of ``tsvector_binary``)."""
    words, keys = lexemes(terms)
    return " ".join([
        *(f"'{word}':" + ",".join(f"{p & _POSITION_MASK}{_WEIGHT_LETTER[p & ~_POSITION_MASK]}"
                                  for p in places) for word, places in words.items()),
        *(f"'{key}':1{KEYS}" for key in keys)])


_ONE_POSITION = struct.Struct("!xHH")  # the lexeme's closing NUL, 1, the position
# What follows each key token: its closing NUL, one position, position 1 weight D.
_KEY_END = "\x00" + _ONE_POSITION.pack(1, _KEY_POSITION)[1:].decode("latin-1")


def tsvector_binary(terms: EventTerms) -> bytes:
    """``terms`` as a tsvector in PostgreSQL's binary form (``tsvectorrecv``), for a
    binary COPY: the server reads it in ~5 µs an event against ~13 µs for parsing
    the literal (docs/benchmarks.md). Lexemes need not be sorted; the server sorts."""
    words, keys = lexemes(terms)
    out = [(len(words) + len(keys)).to_bytes(4, "big")]
    one = _ONE_POSITION.pack
    for word, places in words.items():
        out.append(word.encode())
        if len(places) == 1:
            out.append(one(1, places[0]))
        else:
            out.append(struct.pack(f"!xH{len(places)}H", len(places), *places))
    if keys:
        out.append((_KEY_END.join(keys) + _KEY_END).encode())
    return b"".join(out)
