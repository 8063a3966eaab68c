"""Words are cut and folded run of non-space text by run (cached); that must give the
words of the whole text folded at once, which is what SQLite's tokenizer sees."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from trailbook.query.tsvector import words

WORD = re.compile(r"[^\W_]+")
MAX_WORD_BYTES = 2_000


def words_of_the_whole_text(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return [w for w in WORD.findall(folded) if len(w.encode()) <= MAX_WORD_BYTES]


# Letters with accents (composed and not), spacing marks that decompose to a space
# and a mark (¨, U+00B4), compatibility forms (ﬁ, ™, ①, ½), final sigma, spaces of several
# kinds, and any character at all.
PIECES = ["Größe", "ÉTÉ", "e\u0301t\u0301e", "a¨b", "\u00b4x", "ﬁne", "™", "①", "½", "ΟΔΟΣ", "ß",
          " ", "\u00a0", "\u3000", "\t", "-", "_", "x", "42", "İ"]


@given(st.lists(st.one_of(st.sampled_from(PIECES), st.characters()), max_size=30).map(
    "".join))
def test_words_are_those_of_the_whole_text_folded(text: str) -> None:
    assert words(text) == words_of_the_whole_text(text)


def test_folding_examples() -> None:
    assert words("Größe ÉTÉ e\u0301t\u0301e") == ["große", "ete", "ete"]
    assert words("a¨b ﬁne") == ["a", "b", "fine"]
