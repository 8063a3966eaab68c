"""Scheduled tasks' runs: one SQL text for both backends, run through their
``SqlRunner`` adapters (see ``trailbook.store.accounts``). A run is claimed by adding
its row (task name, period start): the first process to add it runs the task for that
period, every other one finds the row there and does nothing. Runs are working state
spanning every tenant; what a run found is recorded in the tenants' trails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from trailbook.store.accounts import Row, SqlRunner

_COLUMNS = "name, period_start, holder, claimed_us, finished_us, ok, summary"


@dataclass(frozen=True)
class TaskRun:
    name: str
    period_start: int  # µs since the epoch
    holder: str
    claimed_us: int
    finished_us: int | None
    ok: bool | None  # None: not finished (running, or its process stopped)
    summary: dict[str, Any]


def _run(row: Row) -> TaskRun:
    return TaskRun(str(row[0]), int(row[1]), str(row[2]), int(row[3]),
                   None if row[4] is None else int(row[4]),
                   None if row[5] is None else bool(row[5]),
                   orjson.loads(row[6]) if row[6] else {})


class TaskRunStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    def claim(self, name: str, period_start: int, holder: str, now_us: int) -> bool:
        """Claim the run of ``name`` for the period starting at ``period_start``: True
        for the one caller that added the row, False for every other (one statement,
        so two processes never both get it)."""
        rows, _ = self._run.write(
            f"INSERT INTO task_runs ({_COLUMNS}) VALUES (?, ?, ?, ?, NULL, NULL, NULL)"
            " ON CONFLICT (name, period_start) DO NOTHING RETURNING name",
            (name, period_start, holder, now_us))
        return bool(rows)

    def finish(self, name: str, period_start: int, holder: str, now_us: int, ok: bool,
               summary: dict[str, Any]) -> bool:
        """Record how the claimed run went; False if ``holder`` does not hold it."""
        _, changed = self._run.write(
            "UPDATE task_runs SET finished_us = ?, ok = ?, summary = ?"
            " WHERE name = ? AND period_start = ? AND holder = ?",
            (now_us, 1 if ok else 0, orjson.dumps(summary).decode(), name, period_start,
             holder))
        return changed > 0

    def get(self, name: str, period_start: int) -> TaskRun | None:
        rows = self._run.read(f"SELECT {_COLUMNS} FROM task_runs WHERE name = ?"
                              " AND period_start = ?", (name, period_start))
        return _run(rows[0]) if rows else None

    def claimed_after(self, after_us: int) -> list[TaskRun]:
        """Every task's runs claimed after ``after_us``, oldest first."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM task_runs WHERE claimed_us > ?"
            " ORDER BY claimed_us, name", (after_us,))
        return [_run(r) for r in rows]

    def runs(self, name: str, limit: int) -> list[TaskRun]:
        """The task's newest runs, newest first."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM task_runs WHERE name = ?"
            " ORDER BY period_start DESC LIMIT ?", (name, limit))
        return [_run(r) for r in rows]

    def prune(self, claimed_before_us: int) -> int:
        """Forget runs claimed before ``claimed_before_us``; how many went."""
        return self._run.write("DELETE FROM task_runs WHERE claimed_us < ?",
                               (claimed_before_us,))[1]
