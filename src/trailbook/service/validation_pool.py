"""Bulk validation in worker processes.

Validating an event (decoding, the rules, its canonical form and search terms) costs
more CPU than storing it, and threads cannot share that work: the writer would wait
for the GIL after every SQLite step (docs/benchmarks.md). So bulk ingest (files,
copies) hands batches of raw JSON lines to worker processes, which send back prepared
events as MessagePack; the one writer stores them in order, keeping its page cache
warm. Errors travel back too, with the index of the line in its batch."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType

import msgspec

from trailbook.errors import TrailbookError
from trailbook.model.event import EventIn
from trailbook.model.normalize import TenantInfo, normalize_event, translate_decode_error
from trailbook.model.prepared import PreparedEvent, decode_prepared, encode_prepared
from trailbook.model.timefmt import now_us
from trailbook.service.pipe_worker import Answer, PipeWorker, WorkerLost

_line_decoder = msgspec.json.Decoder(EventIn)
# Validation workers run at the lowest CPU priority. The one writer is what bulk ingest
# waits for: with more busy threads than cores, it otherwise waited for a core behind
# them (measured at 1,000,000 events on 2 cores: ~18% of its time runnable but not
# running; with the workers at nice 19 the whole load ran 5-7% faster; see
# docs/benchmarks.md). Workers still get every cycle the writer leaves idle.
WORKER_NICENESS = 19
log = logging.getLogger("trailbook.ingest")


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


Job = tuple[TenantInfo, list[bytes], int]  # (tenant, lines, receive time)


def _validate_job(job: Job) -> Answer:
    """A worker's job: one batch validated. The answer is a small header (the
    errors, the batch size) and then the prepared events as MessagePack, sent as raw
    bytes (no pickling of megabytes)."""
    batch = prepare_lines(*job)
    data = encode_prepared(batch.events)

    def answer(results: Connection) -> None:
        results.send((True, (batch.errors, batch.size)))
        results.send_bytes(data)

    return answer


def _read_batch(results: Connection) -> PreparedBatch:
    ok, value = results.recv()
    if not ok:
        raise WorkerLost(value)
    errors, size = value
    return PreparedBatch(decode_prepared(results.recv_bytes()), errors, size)


class ValidationPool:
    """Worker processes that validate batches of lines; results come back in order.

    Workers are ``PipeWorker``s: a batch's ~8 MB of results crosses 1 MiB pipes as
    raw MessagePack, read by the writer's own thread when it wants the next batch
    (through ``ProcessPoolExecutor`` it was pickled, carried by helper threads that
    waited for the GIL, and took ~40 ms of hand-overs). At most two batches per
    worker are in flight, so memory stays bounded however long the stream is. A
    worker that ends, or fails on a batch, costs only speed: the caller validates
    that batch itself (and raises what it raises) and goes on without that worker."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a validation pool needs at least one process")
        multiprocessing.get_context("forkserver").set_forkserver_preload([__name__])
        self._workers = [PipeWorker(_validate_job, "trailbook-validate",
                                      niceness=WORKER_NICENESS)
                         for _ in range(processes)]
        self._ahead = 2 * processes

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def __enter__(self) -> ValidationPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()

    def prepare(self, info: TenantInfo, batches: Iterable[list[bytes]]) -> Iterator[PreparedBatch]:
        pending: deque[tuple[PipeWorker | None, Job]] = deque()
        turn = itertools.cycle(self._workers)
        for lines in batches:
            job = (info, lines, now_us())
            worker: PipeWorker | None = next(turn)
            if worker is not None and worker.lost:
                worker = next((w for w in self._workers if not w.lost), None)
            if worker is not None:
                worker.submit(job)
            pending.append((worker, job))
            if len(pending) >= self._ahead:
                yield self._take(*pending.popleft())
        while pending:
            yield self._take(*pending.popleft())

    @staticmethod
    def _take(worker: PipeWorker | None, job: Job) -> PreparedBatch:
        if worker is not None:
            try:
                batch: PreparedBatch = worker.receive(_read_batch)
                return batch
            except WorkerLost as lost:
                log.warning("validation worker: %s; validating its batch here", lost)
        return prepare_lines(*job)


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
