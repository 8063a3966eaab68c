"""Bulk validation in worker processes.

Validating an event (decoding, the rules, its canonical form and search terms) costs
more CPU than storing it, and threads cannot share that work: the writer would wait
for the GIL after every SQLite step (docs/benchmarks.md). So bulk ingest (files,
copies) hands batches of raw JSON lines to worker processes, which send back prepared
events as MessagePack; the one writer stores them in order, keeping its page cache
warm. Errors travel back too, with the index of the line in its batch."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType

import msgspec

from trailbook.errors import TrailbookError
from trailbook.model.event import EventIn
from trailbook.model.normalize import TenantInfo, normalize_event, translate_decode_error
from trailbook.model.prepared import PreparedEvent, decode_prepared, encode_prepared
from trailbook.model.timefmt import now_us
from trailbook.runtime import tune_for_throughput

_line_decoder = msgspec.json.Decoder(EventIn)
_PARENT_CHECK_SECONDS = 1.0


def _start_worker(parent: int) -> None:
    """A worker's start: tuned like the writer, and watching the process that made the
    pool. A worker holds both ends of the pool's queue, so it would never learn by
    itself that that process was killed (SIGKILL, or SIGTERM with no handler): it
    would wait forever, and keep the forkserver alive with it."""
    tune_for_throughput()
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch",
                     daemon=True).start()


def _exit_with(parent: int) -> None:
    while True:
        time.sleep(_PARENT_CHECK_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # the pid is someone else's now: ours is gone
            os._exit(1)


@dataclass
class PreparedBatch:
    """One batch after validation: the valid events in their order, the invalid ones
    as (index in the batch, error) in index order, and how many events it had."""

    events: list[PreparedEvent]
    errors: list[tuple[int, TrailbookError]]
    size: int


def prepare_events(info: TenantInfo, events: list[EventIn], received_us: int) -> PreparedBatch:
    return _validate(info, enumerate(events), [], len(events), received_us)


def prepare_lines(info: TenantInfo, lines: list[bytes], received_us: int) -> PreparedBatch:
    """Decode and validate each line (one JSON event); never raises for bad input."""
    decoded: list[tuple[int, EventIn]] = []
    errors: list[tuple[int, TrailbookError]] = []
    for index, line in enumerate(lines):
        try:
            decoded.append((index, _line_decoder.decode(line)))
        except msgspec.MsgspecError as exc:
            errors.append((index, translate_decode_error(exc, batch=False)))
    return _validate(info, decoded, errors, len(lines), received_us)


def _validate(
    info: TenantInfo,
    events: Iterable[tuple[int, EventIn]],
    errors: list[tuple[int, TrailbookError]],
    size: int,
    received_us: int,
) -> PreparedBatch:
    prepared: list[PreparedEvent] = []
    found = len(errors)
    for index, event in events:
        try:
            prepared.append(normalize_event(event, info, received_us))
        except TrailbookError as exc:
            errors.append((index, exc))
    if found and len(errors) > found:
        errors.sort(key=lambda error: error[0])
    return PreparedBatch(prepared, errors, size)


def _prepare_in_worker(
    info: TenantInfo, lines: list[bytes], received_us: int
) -> tuple[bytes, list[tuple[int, TrailbookError]], int]:
    batch = prepare_lines(info, lines, received_us)
    return encode_prepared(batch.events), batch.errors, batch.size


class ValidationPool:
    """Worker processes that validate batches of lines; results come back in order.

    At most two batches per worker are in flight, so memory stays bounded however
    long the stream is."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a validation pool needs at least one process")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._executor = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
        )
        self._ahead = 2 * processes

    def __enter__(self) -> ValidationPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def prepare(self, info: TenantInfo, batches: Iterable[list[bytes]]) -> Iterator[PreparedBatch]:
        pending: deque[Future[tuple[bytes, list[tuple[int, TrailbookError]], int]]] = deque()
        try:
            for lines in batches:
                pending.append(self._executor.submit(_prepare_in_worker, info, lines, now_us()))
                if len(pending) >= self._ahead:
                    yield _unpack(pending.popleft().result())
            while pending:
                yield _unpack(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()


def _unpack(result: tuple[bytes, list[tuple[int, TrailbookError]], int]) -> PreparedBatch:
    data, errors, size = result
    return PreparedBatch(decode_prepared(data), errors, size)


def prepare_line_batches(
    info: TenantInfo, batches: Iterable[list[bytes]], processes: int
) -> Iterator[PreparedBatch]:
    """Validate a stream of line batches: in ``processes`` worker processes, or in
    this one when ``processes`` is 0 or the stream is a single batch (a pool would
    only add its start-up time)."""
    stream = iter(batches)
    first = list(itertools.islice(stream, 2))
    batches = itertools.chain(first, stream)
    if len(first) < 2 or processes < 1:
        for lines in batches:
            yield prepare_lines(info, lines, now_us())
        return
    with ValidationPool(processes) as pool:
        yield from pool.prepare(info, batches)
