"""Re-linking a stretch of a tenant's stored chain: each stored hash recomputed from
its predecessor and its stored document, the stretch checked to have no gap. Used
where a piece of the chain must be known to hold together before something is built
on it: an export's signed manifest, and the health check of the newest events."""

from __future__ import annotations

from collections.abc import Iterator

from trailbook.integrity.chain import GENESIS, link
from trailbook.store.base import Store

MISSING = "missing from the store"
CHANGED = "its stored record does not match its hash"


class ChainBreak(Exception):
    """The stretch does not hold together at ``seq``: ``why`` (MISSING or CHANGED)."""

    def __init__(self, seq: int, why: str) -> None:
        super().__init__(f"seq {seq}: {why}")
        self.seq = seq
        self.why = why


def relinked(store: Store, tenant_id: int, from_seq: int, to_seq: int
             ) -> Iterator[tuple[int, bytes]]:
    """(seq, stored hash) for ``from_seq`` … ``to_seq`` in order: first ``from_seq``'s
    own hash (the chain's genesis for 0), the start the rest is re-linked from, then
    each later event's hash once it is re-linked. Raises ``ChainBreak`` at the first
    seq that is missing or whose record does not match its hash."""
    if from_seq == 0:
        seq, previous = 0, GENESIS
    else:
        found = next(iter(store.chain_links(tenant_id, from_seq - 1, from_seq)), None)
        if found is None or found[0] != from_seq:
            raise ChainBreak(from_seq, MISSING)
        seq, previous = from_seq, bytes(found[2])
    yield seq, previous
    for row_seq, doc, stored in store.chain_links(tenant_id, seq, to_seq):
        stored = bytes(stored)
        if row_seq != seq + 1:
            raise ChainBreak(seq + 1, MISSING)
        # An event retention removed keeps its hash, under a signed purge record
        # (which verification checks): the chain goes on from that hash.
        if doc is not None and link(previous, bytes(doc)) != stored:
            raise ChainBreak(row_seq, CHANGED)
        seq, previous = row_seq, stored
        yield seq, previous
    if seq != to_seq:
        raise ChainBreak(seq + 1, MISSING)
