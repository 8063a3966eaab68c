"""An event that passed validation and is ready for the store: its document (every
field but ``seq`` and ``hash``, which the store assigns under the tenant's chain lock)
and what the indexes need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trailbook.query.terms import EventTerms


@dataclass(slots=True)
class PreparedEvent:
    doc: dict[str, Any]
    # True if the canonical form must take the exact (rfc8785) path: a float or a
    # non-ASCII key in metadata or changes.
    exact_canonical: bool
    id_bytes: bytes
    occurred_us: int
    terms: EventTerms
    idempotency_key: str | None
    # SHA-256 of what the client said, to tell a true repeat from a reused key.
    idempotency_digest: bytes | None
