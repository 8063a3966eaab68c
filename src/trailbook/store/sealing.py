"""What every store does between locking a tenant's chain head and writing: sort the
batch into events to store and repeats of idempotency keys, seal the new ones (seq +
hash) onto the head, and answer each event of the batch. No SQL: each store reads
the stored keys and writes the rows its own way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trailbook.errors import idempotency_conflict
from trailbook.integrity.chain import seal
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
                    self._results[index] = Appended(found.id, found.seq, found.hash, True)
                    continue
                seen[key] = index
            seq += 1
            before = previous
            canonical, previous = seal(before, seq, event.canonical_head,
                                       event.canonical_tail)
            self.sealed.append((index, seq, canonical, previous))
            self._results[index] = Appended(event.id, seq, previous, False, before)
        self.head = (seq, previous)

    def answers(self) -> list[Appended]:
        """One answer per event of the batch, in order."""
        for index, first in self._repeats:
            stored = self._results[first]
            assert stored is not None
            self._results[index] = Appended(stored.id, stored.seq, stored.hash, True)
        return [r for r in self._results if r is not None]
