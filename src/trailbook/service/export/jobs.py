"""Background export jobs: an export too large to stream while the caller waits (more
than ``export_background_rows`` matching events, or a count not known in time) is
written by the server to a file, with its signed manifest beside it, while the caller
follows its progress; the file is downloaded when the job is done and removed
``export_job_ttl_seconds`` later.

A job belongs to whoever started it (a staff user or an API key) and is run with their
rights as they were when it started (categories, personal data). It runs in the
process that took it, ``export_job_workers`` at a time, and that process says every
``ALIVE_EVERY_SECONDS`` that it still holds it; a job left unfinished by a process that
stopped (silent for ``ABANDONED_AFTER_SECONDS``) is marked failed by any serving process
and its partial file removed: start it again.
The export is audited (``export.run``) when the job starts, as every export is."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from trailbook.errors import Conflict, ErrorDetail, NotFound, TrailbookError
from trailbook.model.timefmt import format_us, now_us
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import RequestContext
from trailbook.service.access.principal import Principal
from trailbook.service.export.manifest import EXPORT_ID, SUFFIX, new_export_id
from trailbook.service.export.service import Export, ExportService
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import ExportJob

log = logging.getLogger("trailbook.export")

PROGRESS_EVERY_SECONDS = 0.5  # how often a running job's progress is stored
ALIVE_EVERY_SECONDS = 30.0  # how often a process says it holds its jobs (``upkeep``)
ABANDONED_AFTER_SECONDS = 180.0
STOPPED = "the server stopped while it ran; start the export again"
MAX_LISTED = 50


def owner_of(principal: Principal) -> str:
    """Who a job belongs to: ``user:<id>`` or ``key:<id>``."""
    if principal.user is not None:
        return f"user:{principal.user.id}"
    assert principal.key is not None
    return f"key:{principal.key.id}"


@dataclass(frozen=True)
class JobFile:
    path: Path
    filename: str
    media_type: str


class ExportJobService:
    def __init__(self, exports: ExportService, store: Store, settings: Settings) -> None:
        self.exports = exports
        self.jobs = store.export_jobs
        self.folder = settings.resolved_export_job_dir
        self.ttl_us = int(settings.export_job_ttl_seconds * 1_000_000)
        self.threshold = settings.export_background_rows
        self._pool = ThreadPoolExecutor(max_workers=settings.export_job_workers,
                                        thread_name_prefix="export-job")
        self._cancelled: set[str] = set()
        self._held: set[str] = set()  # this process's queued and running jobs
        self._lock = threading.Lock()
        self._closed = False

    # -- deciding --------------------------------------------------------------

    def is_large(self, principal: Principal, flt: EventFilter) -> bool:
        """Whether an export of ``flt`` by ``principal`` should run as a job: it matches
        more than ``export_background_rows`` events, or counting did not finish in time."""
        counted = self.exports.estimate(principal, flt, self.threshold + 1)
        return counted is None or counted > self.threshold

    # -- starting --------------------------------------------------------------

    def start(self, principal: Principal, flt: EventFilter, format_name: str, *,
              context: RequestContext, query: str | None = None,
              tz: str | None = None) -> ExportJob:
        """Check and audit the export (a refusal is an error now, not a failed job),
        record the job and queue it."""
        principal.require("events.export")
        if self._closed:
            raise Conflict("the server is stopping", [ErrorDetail(
                "export", "no new export jobs are taken while the server stops")])
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        total = self.exports.estimate(principal, flt, None)
        fmt = self.exports.format_of(format_name)
        job_id = new_export_id()
        path = self.folder / f"{principal.tenant.id}.{job_id}.{fmt.extension}"
        export = self.exports.start(principal, flt, format_name, context=context,
                                    query=query, tz=tz, output=path, export_id=job_id)
        created = now_us()
        job = ExportJob(
            export.id, principal.tenant.id, owner_of(principal), export.format.name, query,
            {"filter": flt.describe()}, tz or "UTC", "queued", total, 0, 0, export.filename,
            str(path), None, None, format_us(created), None, None, created + self.ttl_us,
            created)
        self.jobs.add(job)
        with self._lock:
            self._held.add(job.id)
        self._pool.submit(self._run, job, export)
        return job

    # -- reading ---------------------------------------------------------------

    def get(self, principal: Principal, job_id: str) -> ExportJob:
        principal.require("events.export")
        if not EXPORT_ID.match(job_id):
            raise NotFound("no such export job", [ErrorDetail("job_id", "not a job id")])
        job = self.jobs.get(principal.tenant.id, owner_of(principal), job_id)
        if job is None:
            raise NotFound("no such export job", [ErrorDetail(
                "job_id", "unknown, not yours, or expired")])
        return job

    def list(self, principal: Principal) -> list[ExportJob]:
        principal.require("events.export")
        return self.jobs.for_owner(principal.tenant.id, owner_of(principal), MAX_LISTED)

    def file(self, principal: Principal, job_id: str) -> JobFile:
        job = self._done(principal, job_id)
        fmt = self.exports.format_of(job.format)
        return JobFile(Path(job.path), job.filename, fmt.media_type)

    def manifest(self, principal: Principal, job_id: str) -> JobFile:
        job = self._done(principal, job_id)
        path = Path(job.path)
        manifest = path.with_name(path.name + SUFFIX)
        if not manifest.exists():
            failed = manifest.with_name(manifest.name + ".failed")
            reason = (failed.read_text("utf-8", errors="replace") if failed.exists()
                      else "its manifest is missing")
            raise Conflict("the export's manifest could not be made",
                           [ErrorDetail("job_id", reason)])
        return JobFile(manifest, job.filename + SUFFIX, "application/json")

    def _done(self, principal: Principal, job_id: str) -> ExportJob:
        job = self.get(principal, job_id)
        if job.state in ("queued", "running"):
            raise Conflict("the export job is not done yet", [ErrorDetail(
                "job_id", f"{job.state}: {job.rows:,} rows written so far")])
        if job.state != "done":
            raise Conflict(f"the export job {job.state}", [ErrorDetail(
                "job_id", job.error or job.state)])
        if not Path(job.path).exists():
            raise NotFound("the export's file is gone", [ErrorDetail(
                "job_id", "removed from the server; run the export again")])
        return job

    # -- changing --------------------------------------------------------------

    def cancel(self, principal: Principal, job_id: str) -> ExportJob:
        """Stop a job that is still running (its file removed), or remove a finished
        one and its file."""
        job = self.get(principal, job_id)
        if job.state in ("queued", "running"):
            with self._lock:
                self._cancelled.add(job.id)
            at = now_us()
            self.jobs.finish(job.id, "cancelled", rows=job.rows, size=job.bytes, sha256=None,
                             error="cancelled by its owner", at=format_us(at),
                             expires_us=at + self.ttl_us)
        else:
            _remove_files(Path(job.path))
            self.jobs.remove([job.id])
        return self.get(principal, job_id) if job.state in ("queued", "running") else job

    # -- upkeep ----------------------------------------------------------------

    def upkeep(self) -> None:
        """What a serving process does every ``ALIVE_EVERY_SECONDS``: say it still
        holds its jobs, fail the jobs of processes that stopped, remove expired jobs."""
        now = now_us()
        with self._lock:
            held = list(self._held)
        self.jobs.alive(held, now)
        self.recover(now - int(ABANDONED_AFTER_SECONDS * 1_000_000))
        self.sweep()

    def recover(self, silent_since_us: int) -> int:
        """Mark the jobs that processes which stopped left unfinished (silent since
        ``silent_since_us``) as failed, their partial files removed; how many."""
        left = self.jobs.abandoned(silent_since_us)
        at = now_us()
        for job in left:
            _remove_files(Path(job.path))
            self.jobs.finish(job.id, "failed", rows=job.rows, size=job.bytes, sha256=None,
                             error=STOPPED, at=format_us(at), expires_us=at + self.ttl_us)
        return len(left)

    def sweep(self) -> int:
        """Remove jobs past their time, with their files; how many."""
        expired = self.jobs.expired(now_us())
        for job in expired:
            _remove_files(Path(job.path))
        return self.jobs.remove([job.id for job in expired])

    def close(self) -> None:
        """Take no more jobs, and stop the running ones (at their next page; marked
        failed, their files removed: a stopping server does not hold up for them)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = list(self._held)
        at = now_us()
        for job_id in left:  # queued ones the pool dropped
            self.jobs.finish(job_id, "failed", rows=0, size=0, sha256=None, error=STOPPED,
                             at=format_us(at), expires_us=at + self.ttl_us)

    # -- running ---------------------------------------------------------------

    def _run(self, job: ExportJob, export: Export) -> None:
        path = Path(job.path)
        self.jobs.started(job.id, format_us(now_us()), now_us())
        progress = export.progress
        state, error = "done", None
        try:
            with path.open("wb") as out:
                stored_at = time.monotonic()
                for chunk in export.chunks:
                    if job.id in self._cancelled or self._closed:
                        _close(export.chunks)
                        state, error = (("failed", STOPPED) if self._closed else
                                        ("cancelled", "cancelled by its owner"))
                        break
                    out.write(chunk)
                    if time.monotonic() - stored_at >= PROGRESS_EVERY_SECONDS:
                        self.jobs.progress(job.id, progress.rows, progress.bytes, now_us())
                        stored_at = time.monotonic()
            if state == "done" and progress.manifest is None:
                log.warning("export job %s: written without a manifest: %s", job.id,
                            progress.manifest_error)
        except TrailbookError as exc:
            state, error = "failed", exc.one_line()
        except Exception as exc:  # a job's failure is the job's, not the pool's
            log.exception("export job %s failed", job.id)
            state, error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._cancelled.discard(job.id)
                self._held.discard(job.id)
        if state != "done":
            _remove_files(path)
        at = now_us()
        self.jobs.finish(job.id, state, rows=progress.rows, size=progress.bytes,
                         sha256=progress.sha256 if state == "done" else None, error=error,
                         at=format_us(at), expires_us=at + self.ttl_us)


def _close(chunks: object) -> None:
    close: Callable[[], None] | None = getattr(chunks, "close", None)
    if close is not None:
        close()


def _remove_files(path: Path) -> None:
    for victim in (path, path.with_name(path.name + SUFFIX),
                   path.with_name(path.name + SUFFIX + ".failed"),
                   path.with_name(path.name + SUFFIX + ".partial")):
        victim.unlink(missing_ok=True)
