"""Bulk ingest: validated batches stored one after another, in order.

Validation happens before this point, in worker processes for large streams
(``service.validation_pool``); threads would not help, because the writer waits for
the GIL after every SQLite step (measured, docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from trailbook.errors import TrailbookError
from trailbook.model.prepared import PreparedEvent
from trailbook.service.validation_pool import PreparedBatch
from trailbook.store.records import Appended

Store = Callable[[list[PreparedEvent]], list[Appended]]
# (index of the batch, index of the event in it, the error)
OnInvalid = Callable[[int, int, TrailbookError], None]
OnStored = Callable[[int, list[Appended]], None]


@dataclass
class StreamResult:
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    batches: int = 0


def store_batches(
    batches: Iterable[PreparedBatch],
    store: Store,
    *,
    skip_invalid: bool,
    on_invalid: OnInvalid | None = None,
    on_stored: OnStored | None = None,
) -> StreamResult:
    """Store each validated batch all-or-nothing. Without ``skip_invalid`` the first
    batch holding an invalid event raises its first error (the batches before it are
    stored, nothing of it); with it, invalid events go to ``on_invalid`` and the rest
    of their batch is stored."""
    result = StreamResult()
    for number, batch in enumerate(batches):
        if batch.errors:
            if not skip_invalid:
                raise batch.errors[0][1]
            result.invalid += len(batch.errors)
            if on_invalid is not None:
                for index, exc in batch.errors:
                    on_invalid(number, index, exc)
        if not batch.size:
            continue
        result.batches += 1
        if not batch.events:
            continue
        appended = store(batch.events)
        fresh = sum(1 for a in appended if not a.duplicate)
        result.stored += fresh
        result.duplicates += len(appended) - fresh
        if on_stored is not None:
            on_stored(number, appended)
    return result
