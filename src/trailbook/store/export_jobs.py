"""Background export jobs: one SQL text for both backends, run through their
``SqlRunner`` adapters (see ``trailbook.store.accounts``). A job is its owner's: every
read names the tenant and the owner. Jobs are working state, not history: they are
updated as they run and removed when they expire (the export itself is audited as an
event when it starts)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from trailbook.store.accounts import Row, SqlRunner
from trailbook.store.records import ExportJob

_COLUMNS = ("id, tenant_id, owner, format, query, filter, tz, state, total, rows, bytes,"
            " filename, path, sha256, error, created_at, started_at, finished_at, expires_us,"
            " alive_us")


def _job(row: Row) -> ExportJob:
    return ExportJob(
        str(row[0]), int(row[1]), str(row[2]), str(row[3]), row[4], orjson.loads(row[5]),
        str(row[6]), str(row[7]), None if row[8] is None else int(row[8]), int(row[9]),
        int(row[10]), str(row[11]), str(row[12]), row[13], row[14], str(row[15]), row[16],
        row[17], int(row[18]), int(row[19]))


class ExportJobStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    def add(self, job: ExportJob) -> None:
        self._run.write(
            f"INSERT INTO export_jobs ({_COLUMNS}) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job.id, job.tenant_id, job.owner, job.format, job.query,
             orjson.dumps(job.filter).decode(), job.tz, job.state, job.total, job.rows,
             job.bytes, job.filename, job.path, job.sha256, job.error, job.created_at,
             job.started_at, job.finished_at, job.expires_us, job.alive_us))

    def get(self, tenant_id: int, owner: str, job_id: str) -> ExportJob | None:
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM export_jobs WHERE id = ? AND tenant_id = ? AND owner = ?",
            (job_id, tenant_id, owner))
        return _job(rows[0]) if rows else None

    def for_owner(self, tenant_id: int, owner: str, limit: int) -> list[ExportJob]:
        """The owner's jobs, newest first."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM export_jobs WHERE tenant_id = ? AND owner = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?", (tenant_id, owner, limit))
        return [_job(r) for r in rows]

    def started(self, job_id: str, at: str, now_us: int) -> None:
        self._run.write("UPDATE export_jobs SET state = 'running', started_at = ?,"
                        " alive_us = ? WHERE id = ? AND state = 'queued'",
                        (at, now_us, job_id))

    def progress(self, job_id: str, rows: int, size: int, now_us: int) -> None:
        self._run.write("UPDATE export_jobs SET rows = ?, bytes = ?, alive_us = ?"
                        " WHERE id = ? AND state = 'running'", (rows, size, now_us, job_id))

    def alive(self, job_ids: Sequence[str], now_us: int) -> None:
        """Say that this process still runs (or holds queued) ``job_ids``."""
        for job_id in job_ids:
            self._run.write("UPDATE export_jobs SET alive_us = ? WHERE id = ?"
                            " AND state IN ('queued', 'running')", (now_us, job_id))

    def finish(self, job_id: str, state: str, *, rows: int, size: int, sha256: str | None,
               error: str | None, at: str, expires_us: int) -> bool:
        """Set a job's final state; False (nothing changed) when it had already ended
        (e.g. it was cancelled meanwhile)."""
        _, changed = self._run.write(
            "UPDATE export_jobs SET state = ?, rows = ?, bytes = ?, sha256 = ?, error = ?,"
            " finished_at = ?, expires_us = ? WHERE id = ? AND state IN ('queued', 'running')",
            (state, rows, size, sha256, error, at, expires_us, job_id))
        return changed > 0

    def abandoned(self, silent_since_us: int) -> list[ExportJob]:
        """Every tenant's jobs still queued or running whose process has said nothing
        since ``silent_since_us``: left behind by a process that stopped."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM export_jobs WHERE state IN ('queued', 'running')"
            " AND alive_us < ?", (silent_since_us,))
        return [_job(r) for r in rows]

    def expired(self, now_us: int) -> list[ExportJob]:
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM export_jobs WHERE expires_us <= ?"
            " AND state NOT IN ('queued', 'running')", (now_us,))
        return [_job(r) for r in rows]

    def remove(self, job_ids: Sequence[str]) -> int:
        removed = 0
        for job_id in job_ids:
            removed += self._run.write("DELETE FROM export_jobs WHERE id = ?", (job_id,))[1]
        return removed
