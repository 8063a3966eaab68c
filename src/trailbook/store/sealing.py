"""What every store does between locking a tenant's chain head and writing: sort the
batch into events to store and repeats of idempotency keys, seal the new ones (seq +
hash) onto the head, and answer each event of the batch. No SQL: each store reads
the stored keys and writes the rows its own way.

A batch can also be sealed ahead of its transaction (``AppendPlan``), onto the head
that the batch before it will leave: bulk ingest seals the next batch while the one
before is being written. The transaction checks that head and seals again when
another writer came between."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trailbook.errors import idempotency_conflict
from trailbook.integrity.chain import seal
from trailbook.integrity.merkle_store import leaf_of
from trailbook.model.normalize import TenantInfo
from trailbook.model.prepared import PreparedEvent
from trailbook.store.records import Appended


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An idempotency key already used in the tenant, and the event it names."""

    digest: bytes
    id: str
    seq: int
    hash: bytes


# (index in the batch, seq, canonical bytes, chain hash) of each event to write
Sealed = tuple[int, int, bytes, bytes]


def idempotency_keys(events: list[PreparedEvent]) -> list[str]:
    return [e.idempotency_key for e in events if e.idempotency_key is not None]


class SealedBatch:
    """A batch sealed onto the chain head ``(seq, previous hash)``; a key reused with
    other content (stored, or earlier in the batch) raises a conflict."""

    def __init__(self, events: list[PreparedEvent], stored: Mapping[str, StoredKey],
                 seq: int, previous: bytes) -> None:
        self._results: list[Appended | None] = [None] * len(events)
        self._repeats: list[tuple[int, int]] = []  # (index, index of its first)
        self.sealed: list[Sealed] = []
        seen: dict[str, int] = {}
        results, sealed = self._results, self.sealed
        for index, event in enumerate(events):
            key = event.idempotency_key
            if key is not None:
                if key in seen:
                    if events[seen[key]].idempotency_digest != event.idempotency_digest:
                        raise idempotency_conflict(key)
                    self._repeats.append((index, seen[key]))
                    continue
                found = stored.get(key)
                if found is not None:
                    if found.digest != event.idempotency_digest:
                        raise idempotency_conflict(key)
                    results[index] = Appended(found.id, found.seq, found.hash, True)
                    continue
                seen[key] = index
            seq += 1
            canonical, chain_hash = seal(previous, seq, event.canonical_head,
                                         event.canonical_tail)
            sealed.append((index, seq, canonical, chain_hash))
            results[index] = Appended(event.id, seq, chain_hash, False, previous)
            previous = chain_hash
        self.head = (seq, previous)

    def answers(self) -> list[Appended]:
        """One answer per event of the batch, in order."""
        for index, first in self._repeats:
            stored = self._results[first]
            assert stored is not None
            self._results[index] = Appended(stored.id, stored.seq, stored.hash, True)
        return [r for r in self._results if r is not None]


ChainHeadValue = tuple[int, bytes]  # (seq, hash) of a tenant's newest event


@dataclass
class AppendPlan:
    """A batch on its way into a store. ``onto`` is the chain head it was sealed onto
    ahead of its transaction, with ``batch`` the sealing, ``leaves`` the new events'
    Merkle leaves and ``rows`` what the store made of them (its own shape); ``onto``
    None means the store seals the batch in its transaction, as ``append`` does."""

    tenant: TenantInfo
    events: list[PreparedEvent]
    onto: ChainHeadValue | None = None
    batch: SealedBatch | None = None
    leaves: list[bytes] | None = None
    rows: Any = None

    def seal_at(
        self, head: ChainHeadValue, stored_keys: Callable[[list[str]], Mapping[str, StoredKey]]
    ) -> SealedBatch:
        """The sealing to write, given ``head``, the head found in the transaction:
        the one made ahead if it was made onto that head; else the batch sealed onto
        it now (``stored_keys`` reads the keys already stored), and this plan made to
        hold that sealing, without rows or leaves made ahead, so that the batch
        planned after it reads the head it leaves."""
        if self.batch is not None and self.onto == head:
            return self.batch
        keys = idempotency_keys(self.events)
        batch = SealedBatch(self.events, stored_keys(keys) if keys else {}, *head)
        self.onto, self.batch, self.leaves, self.rows = head, batch, None, None
        return batch


def plan_ahead(
    tenant: TenantInfo,
    events: list[PreparedEvent],
    after: AppendPlan | None,
    committed_head: Callable[[], ChainHeadValue],
) -> AppendPlan:
    """Seal ``events`` ahead of their transaction, onto the head ``after`` (the batch
    to be written before them) leaves, or the committed head when there is none.

    Left to the transaction: a batch with idempotency keys (the keys stored by the
    batches before it must be looked up first), and any batch after one left to its
    transaction (its head is not known yet)."""
    if idempotency_keys(events) or (after is not None and after.batch is None):
        return AppendPlan(tenant, events)
    onto = after.batch.head if after is not None and after.batch else committed_head()
    batch = SealedBatch(events, {}, *onto)
    return AppendPlan(tenant, events, onto, batch,
                      [leaf_of(canonical) for _, _, canonical, _ in batch.sealed])
