"""Bulk ingest: validated batches stored one after another, in order.

Validation happens before this point, in worker processes for large streams
(``service.validation_pool``); threads would not help, because the writer waits for
the GIL after every SQLite step (measured, docs/benchmarks.md).

Batches are validated (and reported) as they come, but stored a few at a time: one
transaction per ``transaction_events`` events costs the database less than one per
batch (measured at 1,000,000 events: transactions of 20,000 rather than 5,000 made
bulk ingest ~11% faster, docs/benchmarks.md).

Storing is itself two steps: sealing a batch and making its rows (Python, under the
GIL), then writing them (mostly the database's own work, without the GIL). So each
batch is sealed in the caller's thread, onto the head the batch before it will leave,
while that one is written by a writer thread (``Store.plan_append`` and
``apply_append``): one batch is written while the next is sealed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from trailbook.errors import TrailbookError
from trailbook.model.prepared import PreparedEvent
from trailbook.runtime import short_gil_turns
from trailbook.service.validation_pool import PreparedBatch
from trailbook.store.records import Appended
from trailbook.store.sealing import AppendPlan

# Seal a batch ahead, onto the head the plan before it (if any) leaves.
Plan = Callable[[list[PreparedEvent], AppendPlan | None], AppendPlan]
# Write a planned batch, all or nothing.
Apply = Callable[[AppendPlan], list[Appended]]
# (index of the batch, index of the event in it, the error)
OnInvalid = Callable[[int, int, TrailbookError], None]
OnStored = Callable[[int, list[Appended]], None]


@dataclass
class StreamResult:
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    batches: int = 0


class _Written:
    """The transaction being written, and what is done when it is."""

    def __init__(self, result: StreamResult, on_stored: OnStored | None) -> None:
        self._result = result
        self._on_stored = on_stored
        self._pending: tuple[list[tuple[int, int]], Future[list[Appended]]] | None = None

    def start(self, writer: ThreadPoolExecutor, apply: Apply, parts: list[tuple[int, int]],
              plan: AppendPlan) -> None:
        """Write ``plan``, made of the batches ``parts`` ((number, events) each, in
        order), once the transaction before it is written."""
        self.finish()
        self._pending = (parts, writer.submit(apply, plan))

    def finish(self) -> None:
        """Wait for the transaction being written; raise what writing it raised."""
        if self._pending is None:
            return
        parts, future = self._pending
        self._pending = None
        appended = future.result()
        fresh = sum(1 for a in appended if not a.duplicate)
        self._result.stored += fresh
        self._result.duplicates += len(appended) - fresh
        if self._on_stored is not None:
            start = 0
            for number, count in parts:
                self._on_stored(number, appended[start:start + count])
                start += count


def store_batches(
    batches: Iterable[PreparedBatch],
    plan: Plan,
    apply: Apply,
    *,
    skip_invalid: bool,
    on_invalid: OnInvalid | None = None,
    on_stored: OnStored | None = None,
    transaction_events: int = 0,
) -> StreamResult:
    """Store each validated batch all-or-nothing, in order. Without ``skip_invalid``
    the first batch holding an invalid event raises its first error (the batches
    before it are stored, nothing of it); with it, invalid events go to
    ``on_invalid`` and the rest of their batch is stored. A transaction that fails to
    be written raises its error once the ones before it are stored; nothing after it
    is written. ``on_stored`` is called in this thread, in order, once for each batch.

    Consecutive batches share one transaction until it holds ``transaction_events``
    events (0: each batch is a transaction of its own); the batches of a transaction
    are stored, or fail, together."""
    result = StreamResult()
    written = _Written(result, on_stored)
    previous: AppendPlan | None = None
    events: list[PreparedEvent] = []  # the transaction being gathered
    parts: list[tuple[int, int]] = []  # its batches: (number, events)
    with short_gil_turns(), ThreadPoolExecutor(1, "trailbook-writer") as writer:

        def write() -> None:
            """Seal the gathered transaction and hand it to the writer."""
            nonlocal previous, events, parts
            if events:
                previous = plan(events, previous)
                written.start(writer, apply, parts, previous)
                events, parts = [], []

        try:
            for number, batch in enumerate(batches):
                if batch.errors:
                    if not skip_invalid:
                        write()
                        written.finish()
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
                events.extend(batch.events)
                parts.append((number, len(batch.events)))
                if len(events) >= transaction_events:
                    write()
            write()
            written.finish()
        except BaseException:
            # Nothing after a failure is written; what was being written ends first
            # (the executor waits for it), and its own failure, if any, is the one
            # that explains the rest.
            written.finish()
            raise
    return result
