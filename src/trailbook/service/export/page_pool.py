"""Formatting an export's pages in a worker process beside the exporting thread.

A CSV or XLSX row costs ~8 to 15 µs of Python to format, against ~2 µs to read it from
the store: one thread formatting and reading in turn keeps one core busy and the
other idle. Here the pages of a large export are handed to a worker process (started
the first time one is needed, shared by the process's exports) while the exporting
thread reads the next page and re-links the manifest's chain; when the worker already
has ``ahead`` pages waiting, the thread formats the page itself, so both cores work
and neither waits on the other. The pages come back in the order they were read.

A page maker is a module-level function of plain values (so that it can be sent to
the worker), the same function the writer runs on its own: the bytes are the same
whichever process made them. A worker that dies mid-export costs only speed: its
pages are made again here."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from trailbook.service.pipe_worker import Answer, PipeWorker, WorkerLost

log = logging.getLogger("trailbook.export")

# (documents, their chain hashes to splice in or None when the documents are whole,
# time zone name or None, rows written before them, whether the rows' digests are
# wanted) -> (what the writer's ``write_made`` takes, the rows' digests)
PageMaker = Callable[[list[bytes], list[bytes] | None, str | None, int, bool],
                     tuple[bytes, bytes]]
Made = tuple[bytes, bytes]

AHEAD = 3  # pages given to a worker before the exporting thread makes one itself
MAX_PENDING = 8  # pages read ahead of the oldest one not yet made: bounds the memory


def _make_page(job: tuple[PageMaker, tuple[Any, ...]]) -> Answer:
    """A worker's job: one page made."""
    maker, args = job
    made = (True, maker(*args))
    return functools.partial(Connection.send, obj=made)


def _read_page(results: Connection) -> Made:
    ok, value = results.recv()
    if not ok:
        raise WorkerLost(value)
    made: Made = value
    return made


class _Worker(PipeWorker):
    """A page worker, counting the pages it has not given back yet."""

    def __init__(self) -> None:
        super().__init__(_make_page, "trailbook-export-pages")
        self.outstanding = 0

    def submit_page(self, maker: PageMaker, args: tuple[Any, ...]) -> None:
        self.outstanding += 1
        self.submit((maker, args))

    def ready(self) -> bool:
        """Whether the oldest outstanding page is made (or the worker is gone)."""
        try:
            return self.outstanding > 0 and self.results.poll(0)
        except (OSError, ValueError):
            return True

    def take(self) -> Made:
        """The oldest outstanding page, waiting for it; ``WorkerLost`` if it cannot
        come."""
        try:
            made: Made = self.receive(_read_page)
        except WorkerLost:
            if not self.lost:  # the worker could not make the page: its answer was read
                self.outstanding -= 1
            raise
        self.outstanding -= 1
        return made

    def drain(self) -> None:
        """Take and drop what is still outstanding (the next export starts clean)."""
        while self.outstanding and not self.lost:
            with contextlib.suppress(WorkerLost):
                self.take()


class PagePool:
    """Up to ``processes`` worker processes (forkserver), each started when first
    needed and lent to one export at a time. Thread-safe."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._idle: list[_Worker] = []
        self._lent = 0
        self._closed = False
        self._lock = threading.Lock()

    def lease(self) -> _Worker | None:
        """A worker for one export; None when every worker is lent (the export makes
        its pages itself) or none may run."""
        with self._lock:
            if self._closed:
                return None
            if self._idle:
                self._lent += 1
                return self._idle.pop()
            if self._lent >= self.processes:
                return None
            self._lent += 1
        try:
            return _Worker()
        except OSError as exc:
            log.warning("no worker process for export pages: %s", exc)
            with self._lock:
                self._lent -= 1
            return None

    def give_back(self, worker: _Worker) -> None:
        worker.drain()
        with self._lock:
            self._lent -= 1
            keep = not self._closed and not worker.lost
            if keep:
                self._idle.append(worker)
        if not keep:
            worker.stop()

    def close(self) -> None:
        """Stop the idle workers; a worker still lent stops when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()
@dataclass(frozen=True, slots=True)
class MadePage:
    seqs: list[int]
    made: bytes  # for the writer's write_made
    digests: bytes  # the rows' digests, in order (empty when not wanted)


@dataclass(slots=True)
class _Pending:
    seqs: list[int]
    docs: list[bytes]
    hashes: list[bytes] | None
    written: int
    made: Made | None  # None: with the worker


class MadePages:
    """One export's pages, made by a worker or here, given back in order."""

    def __init__(self, maker: PageMaker, zone: str | None, digests: bool) -> None:
        self._maker = maker
        self._zone = zone
        self._digests = digests
        self._pool: PagePool | None = None
        self._worker: _Worker | None = None
        self._pending: deque[_Pending] = deque()
        self._with_worker: deque[_Pending] = deque()  # oldest first
        self._written = 0  # rows handed out so far

    def use(self, pool: PagePool) -> None:
        """Hand later pages to a worker of ``pool``, if one is free."""
        if self._worker is None:
            self._pool = pool
            self._worker = pool.lease()

    def add(self, seqs: list[int], docs: list[bytes],
            hashes: list[bytes] | None) -> Iterator[MadePage]:
        """Hand out the next page (``hashes``: see ``PageMaker``); then the pages at
        the front that are made."""
        written, self._written = self._written, self._written + len(docs)
        page = _Pending(seqs, docs, hashes, written, None)
        worker = self._worker
        if worker is not None and worker.outstanding < AHEAD:
            worker.submit_page(self._maker, (docs, hashes, self._zone, written, self._digests))
            self._with_worker.append(page)
        else:
            page.made = self._make(page)
        self._pending.append(page)
        self._collect()
        while self._pending and (len(self._pending) > MAX_PENDING
                                 or self._pending[0].made is not None):
            yield self._pop()

    def finish(self) -> Iterator[MadePage]:
        """The pages still being made, in order."""
        while self._pending:
            yield self._pop()

    def close(self) -> None:
        """Give the worker back (also when the export is given up half way)."""
        self._pending.clear()
        self._with_worker.clear()
        self._release()

    def _release(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None and self._pool is not None:
            self._pool.give_back(worker)

    def _make(self, page: _Pending) -> Made:
        return self._maker(page.docs, page.hashes, self._zone, page.written, self._digests)

    def _collect(self) -> None:
        worker = self._worker
        while worker is not None and self._with_worker and worker.ready():
            self._take()
            worker = self._worker

    def _take(self) -> None:
        """The worker's oldest page; if the worker is lost, its pages are made here."""
        assert self._worker is not None
        page = self._with_worker.popleft()
        try:
            page.made = self._worker.take()
        except WorkerLost as exc:
            log.warning("export page worker: %s; making its pages here", exc)
            page.made = self._make(page)
            for rest in self._with_worker:
                rest.made = self._make(rest)
            self._with_worker.clear()
            self._release()

    def _pop(self) -> MadePage:
        page = self._pending[0]
        while page.made is None:
            self._take()
        self._pending.popleft()
        return MadePage(page.seqs, page.made[0], page.made[1])
