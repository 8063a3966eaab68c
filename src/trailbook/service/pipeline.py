"""Bulk ingest: batches validated and stored one after another.

Measured on the 2-core development machine (docs/benchmarks.md): validating the next
batch on a second thread while a writer thread stores the previous one was *slower*
than doing both in turn, because the writer waits for the GIL after every SQLite
step. Parallel validation needs processes (``trailbook serve --workers``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from trailbook.errors import TrailbookError
from trailbook.model.event import EventIn
from trailbook.model.prepared import PreparedEvent
from trailbook.store.records import Appended

Prepare = Callable[[list[EventIn]], list[PreparedEvent]]
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


def run_batches(
    batches: Iterable[list[EventIn]],
    prepare: Prepare,
    store: Store,
    *,
    skip_invalid: bool,
    on_invalid: OnInvalid | None = None,
    on_stored: OnStored | None = None,
) -> StreamResult:
    """``prepare`` then ``store`` each batch. Without ``skip_invalid`` the first invalid
    event raises (the batches before it are stored); with it, invalid events are
    reported to ``on_invalid`` and the rest of their batch is stored."""
    result = StreamResult()
    for number, batch in enumerate(batches):
        if not batch:
            continue
        prepared = _prepare_batch(batch, number, prepare, skip_invalid, on_invalid, result)
        result.batches += 1
        if not prepared:
            continue
        appended = store(prepared)
        fresh = sum(1 for a in appended if not a.duplicate)
        result.stored += fresh
        result.duplicates += len(appended) - fresh
        if on_stored is not None:
            on_stored(number, appended)
    return result


def _prepare_batch(
    batch: list[EventIn],
    number: int,
    prepare: Prepare,
    skip_invalid: bool,
    on_invalid: OnInvalid | None,
    result: StreamResult,
) -> list[PreparedEvent]:
    try:
        return prepare(batch)
    except TrailbookError:
        if not skip_invalid:
            raise
    # Some event is invalid: sort them one by one.
    prepared: list[PreparedEvent] = []
    for index, event in enumerate(batch):
        try:
            prepared.extend(prepare([event]))
        except TrailbookError as exc:
            result.invalid += 1
            if on_invalid is not None:
                on_invalid(number, index, exc)
    return prepared
