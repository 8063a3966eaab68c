"""Scheduled tasks inside the server: one daemon thread per serving process runs each
task once per period.

A *shared* task (partitions, housekeeping, retention, the health check) runs once per period
across every process serving the database: periods are aligned to the epoch, so all
processes agree on the slot, and a process runs the task only after claiming the row
(task, period start) in ``task_runs`` (an INSERT … ON CONFLICT DO NOTHING: one process
adds it, the others find it there). A process that stops mid-run loses that period; the
next one runs as usual. A *per-process* task acts on what only its own process holds:
checkpoints sign the chain points this process sealed (never a head read back from the
database; see ``CheckpointService``), and export upkeep keeps this process's jobs
alive; every process runs those.

What is recorded, as ``system`` events (actor ``scheduler``) in each tenant's trail:

- ``system.health.check`` at every health check, with its findings (the server's and
  the tenant's own), the worst as its severity, and the shared tasks' runs since the
  previous check (the aggregate of the routine successes not recorded one by one);
- ``system.retention.run`` for each tenant with a policy, by the retention run itself
  (``service/retention/run.py``), with what it purged and held;
- ``system.<task>.run`` when a task fails (severity ``critical``, result ``failure``;
  a per-process task only when its failures start, not at every period after) and for
  the successes of the tasks marked ``record_success`` (partitions, every 6 hours).

Alert delivery is not a task here: the alerts runner has its own lease and loop (it
polls every ``alert_poll_seconds``); the health check reports its lag."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import RequestContext
from trailbook.service.app import Trailbook
from trailbook.service.export.jobs import ALIVE_EVERY_SECONDS
from trailbook.service.health import HealthReport, Status
from trailbook.store.records import Tenant

log = logging.getLogger("trailbook.scheduler")

ACTOR = {"id": "scheduler", "type": "system", "name": "Trailbook scheduler"}
SEVERITY: dict[Status, str] = {"ok": "info", "warning": "warning", "critical": "critical"}
DAY_US = 86_400 * 1_000_000
# How long the runs of shared tasks are kept in ``task_runs``.
KEEP_RUNS_US = 7 * DAY_US
ALL: frozenset[str] = frozenset({"*"})


@dataclass
class Outcome:
    """What a run did: a summary for the record; ``failed`` names, by tenant, a
    failure that concerns that tenant only (recorded in its trail alone)."""

    summary: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    failed: dict[str, str] = field(default_factory=dict)
    recorded: bool = False  # the task recorded its own events


@dataclass(frozen=True)
class Task:
    name: str
    period: float  # seconds
    action: Callable[[int], Outcome]  # given the period's start (µs)
    shared: bool = True  # claimed once per period across processes
    record_success: bool = False
    final: Callable[[], object] | None = None  # run once when the scheduler stops

    @property
    def period_us(self) -> int:
        return max(1, int(self.period * 1_000_000))

    def slot(self, now: int) -> int:
        """The start of the period ``now`` lies in (µs since the epoch)."""
        return now - now % self.period_us


class Scheduler:
    def __init__(self, tb: Trailbook, tasks: list[Task]) -> None:
        self.tb = tb
        self.tasks = tasks
        self.holder = uuid.uuid4().hex
        self._last: dict[str, int] = {}  # task name: the last period it was due in
        # Per-process tasks whose last run failed: the tenants told (ALL: every one).
        self._failing: dict[str, frozenset[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        shortest = min((t.period for t in tasks), default=1.0)
        self.tick = min(1.0, shortest / 4)

    # -- running -------------------------------------------------------------

    def start(self) -> None:
        """Start the thread. Each task first runs at the next start of its period, not
        at once (a server restarting in a loop does not flood the trails)."""
        now = now_us()
        for task in self.tasks:
            self._last.setdefault(task.name, task.slot(now))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        for task in self.tasks:
            if task.final is not None:
                try:
                    task.final()
                except Exception:
                    log.exception("%s: the final run failed", task.name)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # keep the scheduler alive
                log.exception("scheduler round failed")
            self._stop.wait(self.tick)

    def run_due(self, now: int | None = None) -> list[str]:
        """Run every task whose period began since it last ran here (and, for a shared
        task, that no other process claimed); the names of the tasks run."""
        ran = []
        for task in self.tasks:
            at = now_us() if now is None else now
            start = task.slot(at)
            if self._last.get(task.name) == start:
                continue
            self._last[task.name] = start
            if self.run(task, start, at):
                ran.append(task.name)
        return ran

    def run(self, task: Task, start: int, now: int) -> bool:
        """Claim (a shared task) and run ``task`` for the period starting at ``start``;
        whether this process ran it."""
        runs = self.tb.store.task_runs
        try:
            if task.shared and not runs.claim(task.name, start, self.holder, now):
                return False
        except Exception:
            log.exception("%s: cannot claim the run (is the database there?)", task.name)
            return False
        try:
            outcome = task.action(start)
        except Exception as exc:
            log.exception("%s failed", task.name)
            outcome = Outcome({"error": f"{type(exc).__name__}: {exc}"[:500]}, ok=False)
        try:
            if task.shared:
                runs.finish(task.name, start, self.holder, now_us(), outcome.ok,
                            outcome.summary)
            self._record(task, start, outcome)
        except Exception:
            log.exception("%s: cannot record the run", task.name)
        return True

    # -- recording -----------------------------------------------------------

    def _record(self, task: Task, start: int, outcome: Outcome) -> None:
        if outcome.recorded:
            return
        tenants = self._tenants()
        if outcome.ok and not outcome.failed:
            told = self._failing.pop(task.name, None)
            if told is not None:  # a per-process task runs again: say so where it failed
                self._to_tenants([t for t in tenants if told is ALL or t.name in told],
                                 task, start, outcome, None, recovered=True)
            elif task.record_success:
                self._to_tenants(tenants, task, start, outcome, None)
            return
        if not task.shared:  # recorded when its failures start, not at every period
            if task.name in self._failing:
                return
            self._failing[task.name] = ALL if not outcome.ok else frozenset(outcome.failed)
        for tenant in tenants:
            why = outcome.failed.get(tenant.name)
            if why is None and not outcome.ok:
                why = str(outcome.summary.get("error", "the run failed"))
            if why is not None:
                self._to_tenants([tenant], task, start, outcome, why)

    def _tenants(self) -> list[Tenant]:
        return self.tb.store.list_tenants()

    def _to_tenants(self, tenants: list[Tenant], task: Task, start: int, outcome: Outcome,
                    failure: str | None, *, recovered: bool = False) -> None:
        metadata = {"task": task.name, "period_start": format_us(start),
                    "period_seconds": task.period, "process": self.holder,
                    "summary": outcome.summary}
        for tenant in tenants:
            if failure is None:
                self.tb.audit.record(
                    tenant, category="system", action=f"system.{task.name}.run",
                    action_type="execute", actor=ACTOR, context=RequestContext(),
                    severity="notice" if recovered else "info", metadata=metadata,
                    description=f"{task.name}: " + ("runs again after failing" if recovered
                                                    else "done"))
            else:
                self.tb.audit.record(
                    tenant, category="system", action=f"system.{task.name}.run",
                    action_type="execute", actor=ACTOR, context=RequestContext(),
                    result="failure", severity="critical", reason=f"{task.name}: {failure}",
                    metadata=metadata, description=f"{task.name}: failed")

    # -- the health check ----------------------------------------------------

    def health(self, start: int) -> Outcome:
        """Every check, recorded in each tenant's trail as ``system.health.check``."""
        tb = self.tb
        tenants = self._tenants()
        report = tb.health.check(tenants)
        tasks = self._runs_since_last_health(start)
        for tenant in tenants:
            mine = report.for_tenant(tenant.name)
            self._record_health(tenant, mine, start, tasks)
        findings = [f.as_dict() for f in report.findings if f.status != "ok"]
        return Outcome({"status": report.status, "problems": findings[:20]},
                       ok=report.status != "critical", recorded=True)

    def _runs_since_last_health(self, start: int) -> dict[str, dict[str, int]]:
        """The shared tasks' runs since the previous health check: run, failed, and
        never finished (their process stopped), by task."""
        runs = self.tb.store.task_runs
        previous = [r for r in runs.runs(HEALTH, 2) if r.period_start < start]
        since = previous[0].claimed_us if previous else start - DAY_US
        counts: dict[str, Counter[str]] = {}
        for run in runs.claimed_after(since):
            if run.name == HEALTH:
                continue
            state = "ok" if run.ok else "failed" if run.ok is False else "unfinished"
            counts.setdefault(run.name, Counter())[state] += 1
        return {name: dict(c) for name, c in sorted(counts.items())}

    def _record_health(self, tenant: Tenant, report: HealthReport, start: int,
                       tasks: dict[str, dict[str, int]]) -> None:
        status = report.status
        problems = [f for f in report.findings if f.status != "ok"]
        first = next((f for f in problems if f.status == status), None)
        self.tb.audit.record(
            tenant, category="system", action="system.health.check", action_type="execute",
            actor=ACTOR, context=RequestContext(),
            result="failure" if status == "critical" else "success",
            severity=SEVERITY[status],
            reason=None if first is None else f"{first.check}: {first.detail}",
            description=f"health check: {status}"
            + (f", {len(problems)} problem(s)" if problems else ""),
            metadata={"status": status, "ready": report.ready,
                      "period_start": format_us(start), "process": self.holder,
                      "checks": [f.as_dict() for f in report.findings], "tasks": tasks})


HEALTH = "health"


def server_tasks(tb: Trailbook, scheduler: Scheduler) -> list[Task]:
    """The tasks a serving process runs (the health check is ``scheduler``'s)."""
    settings = tb.settings

    def checkpoints(_: int) -> Outcome:
        made, refused = tb.checkpoints.checkpoint_pending_report()
        return Outcome({"signed": len(made)}, ok=True, failed=refused)

    def partitions(_: int) -> Outcome:
        tb.store.maintain(datetime.now(UTC))
        return Outcome({"maintained": True})

    def housekeeping(start: int) -> Outcome:
        # Failed sign-ins older than a day no longer matter to any lock.
        tb.store.accounts.forget_login_failures(start - DAY_US)
        pruned = tb.store.task_runs.prune(start - KEEP_RUNS_US)
        return Outcome({"task_runs_pruned": pruned})

    def retention(_: int) -> Outcome:
        # Each tenant's run records itself (system.retention.run), failures included.
        reports = tb.retention.run_all()
        failed = {name: str(r.error) for name, r in reports.items() if r.error is not None}
        return Outcome({"tenants": len(reports),
                        "purged": sum(r.purged for r in reports.values()),
                        "held": sum(r.held for r in reports.values())},
                       ok=not failed, failed=failed, recorded=True)

    def export_upkeep(_: int) -> Outcome:
        # This process's jobs kept alive, stopped ones failed, expired ones removed.
        tb.export_jobs.upkeep()
        return Outcome()

    return [
        Task("checkpoints", settings.checkpoint_every_seconds, checkpoints, shared=False,
             final=tb.checkpoints.checkpoint_pending),
        Task("export-jobs", ALIVE_EVERY_SECONDS, export_upkeep, shared=False),
        Task("partitions", settings.task_partitions_seconds, partitions,
             record_success=True),
        Task("housekeeping", settings.task_housekeeping_seconds, housekeeping),
        Task(HEALTH, settings.health_check_seconds, scheduler.health),
        Task("retention", settings.task_retention_seconds, retention),
    ]


def server_scheduler(tb: Trailbook) -> Scheduler:
    """The scheduler of a serving process, with its tasks."""
    scheduler = Scheduler(tb, [])
    scheduler.tasks = server_tasks(tb, scheduler)
    scheduler.tick = min(1.0, min(t.period for t in scheduler.tasks) / 4)
    return scheduler
