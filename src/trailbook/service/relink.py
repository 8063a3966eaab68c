"""Re-linking a stretch of a tenant's stored chain: each stored hash recomputed from
its predecessor and its stored document, the stretch checked to have no gap. Used
where a piece of the chain must be known to hold together before something is built
on it: an export's signed manifest, and the health check of the newest events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from trailbook.integrity.chain import GENESIS, link
from trailbook.store.base import Store
from trailbook.store.purges import Link

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
    previous = GENESIS if from_seq == 0 else first_link(
        store.chain_links(tenant_id, from_seq - 1, from_seq), from_seq)[1]
    yield from_seq, previous
    yield from relink_links(store.chain_links(tenant_id, from_seq, to_seq), from_seq,
                            previous, to_seq)


def first_link(links: Iterable[Link], seq: int) -> tuple[bytes | None, bytes]:
    """(stored document or None if purged, stored hash) of the first of ``links``,
    which must be ``seq``'s (``ChainBreak`` if it is missing)."""
    found = next(iter(links), None)
    if found is None or found[0] != seq:
        raise ChainBreak(seq, MISSING)
    return (None if found[1] is None else bytes(found[1])), bytes(found[2])


def relink_links(links: Iterable[Link], seq: int, previous: bytes, to_seq: int
                 ) -> Iterator[tuple[int, bytes]]:
    """(seq, stored hash) of each of ``links``, which follow ``seq`` (whose hash is
    ``previous``) up to ``to_seq``, once it is re-linked from the one before. Raises
    ``ChainBreak`` at the first seq that is missing or whose record does not match."""
    for row_seq, doc, stored in links:
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
