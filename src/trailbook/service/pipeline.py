"""Bulk ingest: validated batches stored one after another, in order.

Validation happens before this point, in worker processes for large streams
(``service.validation_pool``); threads would not help, because the writer waits for
the GIL after every SQLite step (measured, docs/benchmarks.md).

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
    """The batch being written, and what is done when it is."""

    def __init__(self, result: StreamResult, on_stored: OnStored | None) -> None:
        self._result = result
        self._on_stored = on_stored
        self._pending: tuple[int, Future[list[Appended]]] | None = None

    def start(self, writer: ThreadPoolExecutor, apply: Apply, number: int,
              plan: AppendPlan) -> None:
        self.finish()
        self._pending = (number, writer.submit(apply, plan))

    def finish(self) -> None:
        """Wait for the batch being written; raise what writing it raised."""
        if self._pending is None:
            return
        number, future = self._pending
        self._pending = None
        appended = future.result()
        fresh = sum(1 for a in appended if not a.duplicate)
        self._result.stored += fresh
        self._result.duplicates += len(appended) - fresh
        if self._on_stored is not None:
            self._on_stored(number, appended)


def store_batches(
    batches: Iterable[PreparedBatch],
    plan: Plan,
    apply: Apply,
    *,
    skip_invalid: bool,
    on_invalid: OnInvalid | None = None,
    on_stored: OnStored | None = None,
) -> StreamResult:
    """Store each validated batch all-or-nothing, in order. Without ``skip_invalid``
    the first batch holding an invalid event raises its first error (the batches
    before it are stored, nothing of it); with it, invalid events go to
    ``on_invalid`` and the rest of their batch is stored. A batch that fails to be
    written raises its error once the batches before it are stored; none after it is
    written. ``on_stored`` is called in this thread, in order."""
    result = StreamResult()
    written = _Written(result, on_stored)
    previous: AppendPlan | None = None
    with short_gil_turns(), ThreadPoolExecutor(1, "trailbook-writer") as writer:
        try:
            for number, batch in enumerate(batches):
                if batch.errors:
                    if not skip_invalid:
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
                previous = plan(batch.events, previous)
                written.start(writer, apply, number, previous)
            written.finish()
        except BaseException:
            # Nothing after a failure is written; what was being written ends first
            # (the executor waits for it), and its own failure, if any, is the one
            # that explains the rest.
            written.finish()
            raise
    return result
