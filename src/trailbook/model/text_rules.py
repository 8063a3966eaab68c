"""What free text people type (names, queries, reasons) may not hold."""

from __future__ import annotations

import unicodedata


def bad_characters(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """Why ``text`` cannot be kept, or None: control characters (but ``allowed``) and
    lone surrogates (not Unicode)."""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            return "not valid Unicode (a lone surrogate)"
        if char not in allowed and (category == "Cc" or char in "\u2028\u2029"):
            return f"control characters are not allowed (found U+{ord(char):04X})"
    return None
