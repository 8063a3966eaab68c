"""Retention runs: what the policies let go is archived, removed and signed for.

A run of one tenant:

1. finishes what a run killed earlier left: its purges that committed without their
   ``system.retention.run`` event get one now, and archives no purge record names
   (written, then the run stopped before its purge committed) are removed;
2. reads the policies and the active legal holds, and walks the events that occurred
   before the longest cut-off, oldest first: an event is purged when its category's
   policy has run out for it, a signed checkpoint already covers it (so its archive's
   chain ends at a signature), and no active hold's query matches it;
3. purges them in batches of ``retention_batch_events``. Each batch first writes its
   archive (gzip NDJSON and a signed manifest, flushed to disk), then signs a purge
   record (the events' kept hashes, the chain's new start, the archive's digests), then
   removes the events and files the record in one transaction. A kill before that
   transaction commits leaves the old state (plus an archive the next run removes);
   after it, the new one;
4. records the run in the tenant's trail as ``system.retention.run``: what was purged,
   held and left, the archives; a failure as ``severity: critical``.

Runs of one tenant take turns through a lease in the database."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uuid_utils

from trailbook.errors import Conflict, ErrorDetail, TrailbookError
from trailbook.integrity.chain import GENESIS
from trailbook.integrity.merkle_store import leaf_of
from trailbook.integrity.purge_seal import PurgeDigest, purge_payload
from trailbook.integrity.signing import Signer
from trailbook.model.timefmt import format_us, now_us
from trailbook.query.evaluate import matches
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import RequestContext, SelfAudit, actor_of
from trailbook.service.access.principal import Principal
from trailbook.service.checkpoints import CheckpointService
from trailbook.service.retention.archive import (
    archive_of,
    remove_archive,
    tenant_folder,
    write_archive,
)
from trailbook.service.retention.rules import RetentionRules, effective_keep_days
from trailbook.service.tenants import tenant_info
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.positions import POS_SHIFT
from trailbook.store.purges import PurgedRow, PurgeRecord
from trailbook.store.records import ChainRow, Tenant
from trailbook.store.retention_rules import LegalHold, RetentionPolicy

log = logging.getLogger("trailbook.scheduler")

ACTION = "system.retention.run"
SCHEDULER = {"id": "scheduler", "type": "system", "name": "Trailbook scheduler"}
DAY_US = 86_400 * 1_000_000
_SCAN = 2000
_MAX_LISTED = 50  # purges named one by one in a run's event


@dataclass
class RunReport:
    tenant: str
    started_at: str
    policies: dict[str, int | None] = field(default_factory=dict)
    purged: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    held: int = 0  # past their policy, kept by a legal hold
    held_by: Counter[str] = field(default_factory=Counter)
    # past their policy but after the newest signed checkpoint: the next run's
    awaiting_checkpoint: int = 0
    purges: list[PurgeRecord] = field(default_factory=list)
    partitions_dropped: list[str] = field(default_factory=list)
    recorded_late: list[str] = field(default_factory=list)
    archives_removed: list[str] = field(default_factory=list)
    error: str | None = None
    recorded_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant, "started_at": self.started_at, "ok": self.error is None,
            "error": self.error, "policies": self.policies, "purged": self.purged,
            "by_category": dict(sorted(self.by_category.items())), "held": self.held,
            "held_by": dict(sorted(self.held_by.items())),
            "awaiting_checkpoint": self.awaiting_checkpoint,
            "purges": [p.as_dict() for p in self.purges],
            "partitions_dropped": self.partitions_dropped,
            "recorded_late": self.recorded_late,
            "archives_removed": self.archives_removed,
            "recorded_seq": self.recorded_seq,
        }


class _Selection:
    """Which scanned events a run purges."""

    def __init__(self, policies: list[RetentionPolicy],
                 holds: list[tuple[LegalHold, EventFilter]], now: int) -> None:
        self.now = now
        self.holds = holds
        self._policies = policies
        self._cutoffs: dict[str, int | None] = {}

    def cutoff(self, category: str) -> int | None:
        """The pos before which events of ``category`` are past their policy."""
        if category not in self._cutoffs:
            days = effective_keep_days(self._policies, category)
            self._cutoffs[category] = (None if days is None
                                       else (self.now - days * DAY_US) << POS_SHIFT)
        return self._cutoffs[category]

    def hold_of(self, row: ChainRow) -> LegalHold | None:
        if not self.holds:
            return None
        doc = orjson.loads(row.doc)
        return next((hold for hold, flt in self.holds if matches(flt, doc)), None)


class RetentionRunner:
    def __init__(self, store: Store, signer: Signer, settings: Settings,
                 rules: RetentionRules, checkpoints: CheckpointService,
                 audit: SelfAudit) -> None:
        self.store = store
        self.signer = signer
        self.settings = settings
        self.rules = rules
        self.checkpoints = checkpoints
        self.audit = audit
        self.holder = f"retention-{uuid.uuid4().hex[:12]}"

    @property
    def archive_root(self) -> Path:
        return self.settings.resolved_retention_archive_dir

    # -- for callers -------------------------------------------------------------

    def run_for(self, principal: Principal, context: RequestContext) -> RunReport:
        """A run of the caller's tenant, now (``retention.manage``)."""
        principal.require("retention.manage")
        report = self.run(principal.tenant, by=principal, context=context)
        if report.error is not None:
            raise Conflict("the retention run failed; nothing was left half done",
                           [ErrorDetail("retention", report.error)])
        return report

    def runs(self, principal: Principal, limit: int = 50) -> list[PurgeRecord]:
        """The tenant's purges, newest first (``retention.manage``)."""
        principal.require("retention.manage")
        return self.store.purges.records(principal.tenant.id, limit)

    def purges_of(self, tenant: Tenant, limit: int = 50) -> list[PurgeRecord]:
        """The tenant's purges, newest first (the command line on the server)."""
        return self.store.purges.records(tenant.id, limit)

    def run_all(self, now: int | None = None) -> dict[str, RunReport]:
        """A run of every tenant that has a policy (the scheduled task)."""
        reports = {}
        for tenant in self.store.list_tenants():
            if self.rules.policies_of(tenant) or self.store.purges.unrecorded(tenant.id):
                try:
                    reports[tenant.name] = self.run(tenant, now=now)
                except Conflict as busy:  # a run staff started is under way: it will do
                    log.info("retention of tenant %s skipped: %s", tenant.name,
                             busy.one_line())
        return reports

    # -- a run ----------------------------------------------------------------------

    def run(self, tenant: Tenant, *, now: int | None = None, by: Principal | None = None,
            context: RequestContext | None = None,
            actor: dict[str, Any] | None = None) -> RunReport:
        """Run retention for ``tenant``; the report says what it did, or why it
        stopped (``error``). Every purge it made is whole and recorded either way. The
        run is recorded as by ``by`` (a caller), else ``actor``, else the scheduler."""
        now = now_us() if now is None else now
        report = RunReport(tenant.name, format_us(now))
        if not self._lease(tenant):
            raise Conflict("a retention run of this tenant is already under way",
                           [ErrorDetail("retention", "try again when it has finished")])
        try:
            try:
                self._finish_earlier(tenant, report)
                self._run(tenant, now, report)
            except TrailbookError as exc:
                report.error = exc.one_line()
            except Exception as exc:  # recorded as critical, then the caller hears of it
                log.exception("retention run of tenant %s failed", tenant.name)
                report.error = f"{type(exc).__name__}: {exc}"[:500]
            if report.purges or report.error is not None or report.held or report.policies:
                self._record(tenant, report, by, context or RequestContext(),
                             actor_of(by) if by is not None else actor or SCHEDULER)
        finally:
            self.store.alerts.release_lease(f"retention:{tenant.id}", self.holder)
        return report

    def _lease(self, tenant: Tenant) -> bool:
        """Take or renew this runner's lease on ``tenant``'s runs."""
        ttl = int(self.settings.retention_lease_seconds * 1_000_000)
        return self.store.alerts.acquire_lease(f"retention:{tenant.id}", self.holder,
                                               now_us(), ttl)

    def _keep_lease(self, tenant: Tenant) -> None:
        if not self._lease(tenant):
            raise Conflict("the retention lease was lost to another run",
                           [ErrorDetail("retention", "a run stalled for longer than "
                                        "retention_lease_seconds")])

    def _finish_earlier(self, tenant: Tenant, report: RunReport) -> None:
        """Record purges that committed without their event, and remove archives no
        purge names (their run stopped before its purge committed)."""
        late = self.store.purges.unrecorded(tenant.id)
        report.purges.extend(late)
        report.recorded_late = [p.id for p in late]
        folder = tenant_folder(self.archive_root, tenant)
        if not folder.is_dir():
            return
        named = {p.archive for p in self.store.purges.records(tenant.id)}
        for entry in sorted(folder.iterdir()):
            base = archive_of(entry.name)
            if base is not None and base not in named and entry.exists():
                remove_archive(folder / base)
                report.archives_removed.append(base)

    def _run(self, tenant: Tenant, now: int, report: RunReport) -> None:
        policies = self.rules.policies_of(tenant)
        report.policies = {p.category: p.keep_days for p in policies}
        if all(p.keep_days is None for p in policies):
            return
        holds = self.rules.active_holds(tenant)
        newest = self.store.latest_checkpoint(tenant.id)
        covered = newest.seq if newest is not None else 0
        pick = _Selection(policies, holds, now)
        batch: list[ChainRow] = []
        # One category at a time, each up to its own cut-off: a run reads the events
        # past their policy (and the held ones), never the history its policies keep.
        for category in sorted(tenant_info(tenant).categories):
            cutoff = pick.cutoff(category)
            if cutoff is None:
                continue
            after = -1
            while True:
                rows = self.store.purge_scan(tenant.id, category, after, cutoff, _SCAN)
                if not rows:
                    break
                self._keep_lease(tenant)
                for row in rows:
                    after = row.pos
                    if row.seq > covered:
                        report.awaiting_checkpoint += 1
                        continue
                    hold = pick.hold_of(row)
                    if hold is not None:
                        report.held += 1
                        report.held_by[hold.name] += 1
                        continue
                    batch.append(row)
                    if len(batch) >= self.settings.retention_batch_events:
                        self._purge(tenant, batch, report)
                        batch = []
        if batch:
            self._purge(tenant, batch, report)

    def _purge(self, tenant: Tenant, rows: list[ChainRow], report: RunReport) -> None:
        self._keep_lease(tenant)
        rows.sort(key=lambda r: r.seq)
        purge_id = uuid_utils.uuid7().hex
        created = now_us()
        created_at = format_us(created)
        removed = [PurgedRow(r.seq, bytes(r.hash), leaf_of(r.doc), purge_id) for r in rows]
        digest = PurgeDigest()
        for r in removed:
            digest.add(r.seq, r.hash, r.leaf)
        start_seq, start_hash = self._new_start(tenant, removed)
        cover = self.checkpoints.cover(tenant, rows[-1].seq)
        if cover is None:  # cannot happen: only events a checkpoint covers are chosen
            raise Conflict("no signed checkpoint covers the events to purge",
                           [ErrorDetail("retention", f"seq {rows[-1].seq}")])
        by_category = Counter(r.category for r in rows)
        summary = {"by_category": dict(sorted(by_category.items())),
                   "policies": report.policies, "checkpoint_seq": cover.seq}
        archive = write_archive(
            self.store, self.signer, tenant_folder(self.archive_root, tenant), tenant,
            purge_id, created, rows, cover,
            {"purge": {"id": purge_id, "policies": report.policies,
                       "start": {"seq": start_seq, "hash": start_hash.hex()}}})
        payload = purge_payload(tenant.name, purge_id, created_at, len(rows), rows[0].seq,
                                rows[-1].seq, start_seq, start_hash, digest.digest(),
                                archive.sha256, archive.manifest_sha256, self.signer.key_id)
        record = PurgeRecord(
            purge_id, tenant.id, created_at, len(rows), rows[0].seq, rows[-1].seq,
            start_seq, start_hash, digest.digest(), archive.path.name, archive.sha256,
            archive.manifest_sha256, self.signer.key_id, self.signer.sign(payload), summary)
        try:
            dropped = self.store.purge(tenant_info(tenant), record, removed, rows)
        except BaseException:
            remove_archive(archive.path)
            raise
        report.purges.append(record)
        report.purged += len(rows)
        report.by_category.update(by_category)
        if isinstance(dropped, list):
            report.partitions_dropped.extend(str(d) for d in dropped)

    def _new_start(self, tenant: Tenant, removed: list[PurgedRow]) -> tuple[int, bytes]:
        """The chain's start once ``removed`` are gone too: the seq just before the first
        event still kept, and its hash (0 and the genesis while seq 1 is kept)."""
        records = self.store.purges.records(tenant.id)
        seq = max((r.start_seq for r in records), default=0)
        at = {r.seq: r.hash for r in removed}
        known = {r.start_seq: r.start_hash for r in records}
        current = known.get(seq, GENESIS)
        while True:
            if seq + 1 in at:
                seq += 1
                current = at[seq]
                continue
            earlier = list(self.store.purges.rows(tenant.id, seq, seq + 1))
            if not earlier:
                return seq, current
            seq, current = earlier[0].seq, earlier[0].hash

    # -- the record -----------------------------------------------------------------

    def _record(self, tenant: Tenant, report: RunReport, by: Principal | None,
                context: RequestContext, actor: dict[str, Any]) -> None:
        purges = report.purges
        ok = report.error is None
        metadata: dict[str, Any] = {
            "purged": report.purged, "by_category": dict(sorted(report.by_category.items())),
            "held": report.held, "held_by": dict(sorted(report.held_by.items())),
            "awaiting_checkpoint": report.awaiting_checkpoint, "policies": report.policies,
            "purges": [{"id": p.id, "events": p.events, "first_seq": p.first_seq,
                        "last_seq": p.last_seq, "archive": p.archive,
                        "archive_sha256": p.archive_sha256}
                       for p in purges[:_MAX_LISTED]],
            "partitions_dropped": report.partitions_dropped,
        }
        if report.recorded_late:
            metadata["recorded_late"] = report.recorded_late
        if report.archives_removed:
            metadata["archives_removed"] = report.archives_removed
        if purges:
            newest = max(purges, key=lambda p: (p.created_at, p.id))
            metadata["start"] = {"seq": newest.start_seq, "hash": newest.start_hash.hex()}
        description = (f"retention: {report.purged:,} event(s) purged"
                       + (f", {report.held:,} held" if report.held else "")
                       + ("" if ok else ", then failed"))
        seq = self.audit.record(
            tenant, category="system", action=ACTION, action_type="delete",
            actor=actor, context=context,
            result="success" if ok else "failure", severity="notice" if ok else "critical",
            reason=report.error, metadata=metadata, description=description,
            targets=[{"type": "retention_archive", "id": p.id, "name": p.archive}
                     for p in purges[:_MAX_LISTED]],
            session_id=by.session.id if by is not None and by.session else None)
        report.recorded_seq = seq
        self.store.purges.mark_recorded([p.id for p in purges], seq)
