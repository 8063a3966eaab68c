"""Text the demo writes: ASCII-folded names, staff e-mail addresses, slugs and money."""

from __future__ import annotations

import unicodedata


def ascii_fold(text: str) -> str:
    """Fold to ASCII: "Zieliński" -> "Zielinski", "Łukasz" -> "Lukasz"."""
    text = text.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def email_address(name: str, style: str, domain: str) -> str:
    """A company address for ``name``; ``style`` is the company's local-part pattern."""
    parts = ascii_fold(name).lower().replace("'", "").split()
    first, last = parts[0], "".join(parts[1:])
    local = {
        "i.last": f"{first[0]}.{last}",
        "first.last": f"{first}.{last}",
        "flast": f"{first[0]}{last}",
        "first": f"{first}.{last[0]}",
    }[style]
    return f"{local}@{domain}"


def slug(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def money(cents: int) -> str:
    """Cents as a machine-readable amount: -1234 -> "-12.34"."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def money_text(cents: int) -> str:
    """Cents as people read them in a description: 123456 -> "1,234.56"."""
    return f"{cents // 100:,}.{cents % 100:02d}"
