"""Bulk validation in worker processes.

Validating an event (decoding, the rules, its canonical form and search terms) costs
more CPU than storing it, and threads cannot share that work: the writer would wait
for the GIL after every SQLite step (docs/benchmarks.md). So bulk ingest (files,
copies) hands batches of raw JSON lines to worker processes, which send back prepared
events as MessagePack; the one writer stores them in order, keeping its page cache
warm. Errors travel back too, with the index of the line in its batch."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import multiprocessing
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import msgspec

from trailbook.errors import TrailbookError
from trailbook.model.event import EventIn
from trailbook.model.normalize import TenantInfo, normalize_event, translate_decode_error
from trailbook.model.prepared import PreparedEvent, decode_prepared, encode_prepared
from trailbook.model.timefmt import now_us
from trailbook.runtime import tune_for_throughput

_line_decoder = msgspec.json.Decoder(EventIn)
PIPE_BYTES = 1 << 20  # room in each pipe (Linux's default limit for one)
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


class WorkerLost(Exception):
    """A worker process ended, or could not validate a batch."""


def _serve(jobs: Connection, results: Connection) -> None:
    """A worker process: validate each batch it is sent, in order, until told to stop.
    A result is a small header (the errors, the batch size) and then the prepared
    events as MessagePack, sent as raw bytes (no pickling of megabytes). The worker
    holds only its own ends of the pipes, so when the process that made it ends
    (even by SIGKILL) it reads the end of its jobs, or fails to send, and ends too."""
    tune_for_throughput()
    while True:
        try:
            job = jobs.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            info, lines, received_us = job
            batch = prepare_lines(info, lines, received_us)
            data = encode_prepared(batch.events)
        except Exception as exc:  # validated again by the caller, which then raises
            results.send((False, f"{type(exc).__name__}: {exc}"))
            continue
        try:
            results.send((True, (batch.errors, batch.size)))
            results.send_bytes(data)
        except (BrokenPipeError, OSError):  # the caller stopped listening
            return


def _roomier(conn: Connection) -> None:
    """Pipes of 1 MiB instead of 64 KiB: a batch's few megabytes cross in a few writes,
    not in a hundred hand-overs between the processes."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class _Worker:
    """One worker process and its two pipes. Jobs are written by a thread of their own
    (the caller never waits for the worker to read); results are read by the caller,
    in order."""

    def __init__(self, context: Any) -> None:
        jobs_in, self._jobs = context.Pipe(duplex=False)
        self._results, results_out = context.Pipe(duplex=False)
        _roomier(self._jobs)
        _roomier(self._results)
        self.process = context.Process(target=_serve, args=(jobs_in, results_out),
                                       name="trailbook-validate", daemon=True)
        self.process.start()
        jobs_in.close()
        results_out.close()
        self._outbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send, name="validate-feed", daemon=True)
        self._sender.start()
        self.lost = False

    def _send(self) -> None:
        while True:
            job = self._outbox.get()
            try:
                self._jobs.send(job)
            except (OSError, ValueError):
                self.lost = True
                return
            if job is None:
                return

    def submit(self, job: Job) -> None:
        self._outbox.put(job)

    def take(self) -> PreparedBatch:
        """The oldest outstanding batch, validated; ``WorkerLost`` if it cannot come."""
        if self.lost:
            raise WorkerLost("the worker process ended")
        try:
            ok, value = self._results.recv()
            if not ok:
                raise WorkerLost(value)
            errors, size = value
            data = self._results.recv_bytes()
        except (EOFError, OSError, ValueError) as exc:
            self.lost = True
            raise WorkerLost(f"the worker process ended ({exc or type(exc).__name__})") from None
        return PreparedBatch(decode_prepared(data), errors, size)

    def stop(self) -> None:
        self._outbox.put(None)
        self._results.close()  # a worker still sending gets a broken pipe and ends
        self._sender.join(5)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._jobs.close()



Job = tuple[TenantInfo, list[bytes], int]  # (tenant, lines, receive time)


class ValidationPool:
    """Worker processes that validate batches of lines; results come back in order.

    Each worker has a pipe for jobs and one for results, read by the caller's own
    thread when it wants the next batch. (``ProcessPoolExecutor`` was measured here
    first: its helper threads in the caller wait for the GIL while the writer works,
    and carrying each batch's ~8 MB through 64 KiB pipes took ~40 ms of hand-overs.)
    At most two batches per worker are in flight, so memory stays bounded however
    long the stream is. A worker that ends, or fails on a batch, costs only speed: the
    caller validates that batch itself (and raises what it raises) and goes on
    without that worker."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a validation pool needs at least one process")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._workers = [_Worker(context) for _ in range(processes)]
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
        pending: deque[tuple[_Worker | None, Job]] = deque()
        turn = itertools.cycle(self._workers)
        for lines in batches:
            job = (info, lines, now_us())
            worker: _Worker | None = next(turn)
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
    def _take(worker: _Worker | None, job: Job) -> PreparedBatch:
        if worker is not None:
            try:
                return worker.take()
            except WorkerLost as lost:
                log.warning("validation worker lost, validating here: %s", lost)
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
