"""Pipelined bulk ingest: validate the next batch on the calling thread while a
writer thread stores the previous one. SQLite and PostgreSQL release the GIL while
they work, so the two stages run on two cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
    appended: list[Appended] = field(default_factory=list)


def run_pipeline(
    batches: Iterable[list[EventIn]],
    prepare: Prepare,
    store: Store,
    *,
    skip_invalid: bool,
    on_invalid: OnInvalid | None = None,
    on_stored: OnStored | None = None,
    depth: int = 2,
) -> StreamResult:
    """Run ``prepare`` then ``store`` over ``batches``. Without ``skip_invalid`` the
    first invalid event raises (batches before it are stored); with it, invalid events
    are reported to ``on_invalid`` and the rest of their batch is stored."""
    result = StreamResult()
    work: queue.Queue[tuple[int, list[PreparedEvent]] | None] = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def writer() -> None:
        while True:
            item = work.get()
            if item is None:
                return
            if failure:
                continue  # drain after an error
            number, prepared = item
            try:
                appended = store(prepared)
            except BaseException as exc:
                failure.append(exc)
                continue
            fresh = sum(1 for a in appended if not a.duplicate)
            result.stored += fresh
            result.duplicates += len(appended) - fresh
            if on_stored is not None:
                on_stored(number, appended)

    thread = threading.Thread(target=writer, name="ingest-writer", daemon=True)
    thread.start()
    try:
        for number, batch in enumerate(batches):
            if failure:
                break
            if not batch:
                continue
            prepared = _prepare_batch(batch, number, prepare, skip_invalid, on_invalid, result)
            result.batches += 1
            if prepared:
                work.put((number, prepared))
    finally:
        work.put(None)
        thread.join()
    if failure:
        raise failure[0]
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
