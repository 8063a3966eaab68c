"""The per-tenant hash chain: hash_n = SHA-256(hash_{n-1} || canonical(event_n)).

The genesis value (the ``hash_0`` before seq 1) is 32 zero bytes. ``hash`` is not part
of the canonical form of its own event; everything else the API returns is."""

from __future__ import annotations

from hashlib import sha256
from typing import TYPE_CHECKING

from trailbook.integrity.canonical import canonical_json

if TYPE_CHECKING:
    from trailbook.model.prepared import PreparedEvent

GENESIS = bytes(32)


def link(previous: bytes, canonical: bytes) -> bytes:
    return sha256(previous + canonical).digest()


def seal(previous: bytes, seq: int, event: PreparedEvent) -> tuple[bytes, bytes]:
    """Give ``event`` its seq; return its canonical bytes and chain hash."""
    event.doc["seq"] = seq
    canonical = canonical_json(event.doc, exact=event.exact_canonical)
    return canonical, link(previous, canonical)
