"""A worker process fed through pipes: the shape that the export's page workers and
bulk ingest's validation workers share.

Each worker has a pipe for jobs and one for results, both enlarged to 1 MiB so that
megabytes cross in a few writes rather than a hundred hand-overs between processes.
Jobs are written by a thread of their own (a blocking write lets go of the GIL, so the
caller never waits for the worker to read); results are read by the caller's own
thread, in order. ``ProcessPoolExecutor`` was measured for both first: its helper
threads in the caller wait for the GIL while the caller works, and the worker idled
(docs/benchmarks.md).

The worker holds only its own ends of the pipes: when the process that made it ends,
even by SIGKILL, it reads the end of its jobs (or fails to send) and ends too."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from trailbook.runtime import tune_for_throughput

PIPE_BYTES = 1 << 20  # Linux's default limit for one pipe

# How a worker answers one job: writes the answer to its results pipe.
Answer = Callable[[Connection], None]
# What a worker does with a job (a module-level function, so that it can be sent to
# the worker process): the job done, and how to answer it.
Work = Callable[[Any], Answer]


class WorkerLost(Exception):
    """The worker process ended, or could not do a job."""


def _roomier(conn: Connection) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def serve_jobs(jobs: Connection, results: Connection, work: Work, niceness: int = 0) -> None:
    """A worker process's loop: do each job it is sent, in order, and answer it. A job
    that raises is answered ``(False, "Type: message")``, which the caller's reader
    turns into ``WorkerLost`` (the caller then does the job itself, and raises what
    that raises). Ends on the end of the jobs, a None job, or a caller that stopped
    listening. Tuned like the writer (``runtime``), and made ``niceness`` nicer."""
    tune_for_throughput()
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    while True:
        try:
            job = jobs.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            answer = work(job)
        except Exception as exc:
            failure = (False, f"{type(exc).__name__}: {exc}")
            answer = functools.partial(Connection.send, obj=failure)
        try:
            answer(results)
        except OSError:
            return


class PipeWorker:
    """One worker process (forkserver) doing ``work`` with each job, and its pipes.
    ``niceness`` lowers the process's CPU priority by that much (``os.nice``)."""

    def __init__(self, work: Work, name: str, *, niceness: int = 0) -> None:
        context = multiprocessing.get_context("forkserver")
        jobs_in, self._jobs = context.Pipe(duplex=False)
        self.results, results_out = context.Pipe(duplex=False)
        _roomier(self._jobs)
        _roomier(self.results)
        self.process = context.Process(
            target=serve_jobs, args=(jobs_in, results_out, work, niceness), name=name,
            daemon=True)
        self.process.start()
        jobs_in.close()
        results_out.close()
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send, name=f"{name}-feed", daemon=True)
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

    def submit(self, job: Any) -> None:
        """Queue ``job`` (anything picklable but None) for the worker."""
        self._outbox.put(job)

    def receive(self, read: Callable[[Connection], Any]) -> Any:
        """``read(results)``; ``WorkerLost`` if the worker ended on the way."""
        if self.lost:
            raise WorkerLost("the worker process ended")
        try:
            return read(self.results)
        except (EOFError, OSError, ValueError) as exc:
            self.lost = True
            raise WorkerLost(f"the worker process ended ({exc or type(exc).__name__})") from None

    def stop(self) -> None:
        """Tell the worker to end and wait a little; a worker still sending results
        nobody will read gets a broken pipe and ends; one that does not is killed."""
        self._outbox.put(None)
        self.results.close()
        self._sender.join(5)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._jobs.close()
