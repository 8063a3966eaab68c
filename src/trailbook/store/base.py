"""The store interface every backend implements (SQLite and PostgreSQL).

The store is append-only: it offers no way to change or delete an event. Appends to
one tenant's chain are serialised by the backend, and sealing (seq + hash) happens
under that serialisation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from trailbook.model.normalize import TenantInfo
from trailbook.model.prepared import PreparedEvent
from trailbook.query.filters import EventFilter
from trailbook.store.accounts import AccountStore
from trailbook.store.alerts import AlertStore
from trailbook.store.annotations import AnnotationStore
from trailbook.store.export_jobs import ExportJobStore
from trailbook.store.merkle_nodes import MerkleNodeStore
from trailbook.store.purges import Link, PurgedRow, PurgeRecord, PurgeStore
from trailbook.store.records import (
    Appended,
    ChainHead,
    ChainRow,
    Checkpoint,
    MatchCount,
    StoredEvent,
    Tenant,
)
from trailbook.store.retention_rules import RetentionRuleStore
from trailbook.store.saved_searches import SavedSearchStore
from trailbook.store.sealing import AppendPlan
from trailbook.store.task_runs import TaskRunStore


class Store(Protocol):
    url: str
    # Whether appended events should carry their terms as a tsvector literal.
    keeps_search_vector: bool
    # API keys, staff accounts, custom roles, sessions and failed logins.
    accounts: AccountStore
    # The stored part of each tenant's Merkle tree, and its roots and proofs.
    merkle: MerkleNodeStore
    # Comments and tags on events.
    annotations: AnnotationStore
    # Each staff user's named searches.
    saved_searches: SavedSearchStore
    # Alert channels and rules, the rule engine's state, the delivery outbox, leases.
    alerts: AlertStore
    # Exports written in the background, downloaded when done.
    export_jobs: ExportJobStore
    # Scheduled tasks' runs, each claimed once per period across processes.
    task_runs: TaskRunStore
    # What retention removed: signed purge records, and each removed event's hashes.
    purges: PurgeStore
    # Retention policies (how long each category is kept) and legal holds.
    retention_rules: RetentionRuleStore

    def close(self) -> None: ...

    # schema
    def migrate(self) -> list[int]: ...
    def schema_version(self) -> tuple[int, int]: ...
    def require_schema(self) -> None: ...
    def maintain(self, now: datetime) -> None: ...

    # tenants
    def create_tenant(self, name: str, created_at: str) -> Tenant: ...
    def get_tenant(self, name: str) -> Tenant | None: ...
    def get_tenant_by_id(self, tenant_id: int) -> Tenant | None: ...
    def list_tenants(self) -> list[Tenant]: ...
    def set_tenant_categories(self, tenant_id: int, categories: tuple[str, ...]) -> None: ...

    # events
    def append(self, tenant: TenantInfo, events: list[PreparedEvent]) -> list[Appended]: ...
    # A batch sealed ahead of its transaction onto the head ``after`` leaves (bulk
    # ingest seals the next batch while one is written), and stored.
    def plan_append(
        self, tenant: TenantInfo, events: list[PreparedEvent], after: AppendPlan | None
    ) -> AppendPlan: ...
    def apply_append(self, plan: AppendPlan) -> list[Appended]: ...
    def get_event(self, tenant_id: int, event_id: bytes) -> StoredEvent | None: ...
    def search(
        self, tenant_id: int, flt: EventFilter, before_pos: int | None, limit: int
    ) -> list[StoredEvent]: ...
    # counting what a filter matches; each answers None when its time budget runs out
    def count_matches(
        self, tenant_id: int, flt: EventFilter, cap: int, timeout_ms: int
    ) -> MatchCount | None: ...
    def newest_docs(
        self, tenant_id: int, flt: EventFilter, limit: int, timeout_ms: int
    ) -> list[bytes] | None: ...
    def histogram_counts(
        self, tenant_id: int, flt: EventFilter, origin_us: int, bucket_us: int,
        timeout_ms: int,
    ) -> list[tuple[int, int]] | None: ...
    def time_span(self, tenant_id: int) -> tuple[int, int] | None: ...
    # after a bulk load: bring the query planner's statistics up to date
    def refresh_statistics(self) -> None: ...
    def iter_chain(self, tenant_id: int, after_seq: int = 0) -> Iterator[ChainRow]: ...
    def chain_links(
        self, tenant_id: int, after_seq: int, until_seq: int
    ) -> Iterator[Link]: ...
    def chain_head(self, tenant_id: int) -> ChainHead | None: ...
    # retention: the one way events leave the store
    def purge_scan(self, tenant_id: int, category: str, after_pos: int, before_pos: int,
                   limit: int) -> list[ChainRow]: ...
    def purge(self, tenant: TenantInfo, record: PurgeRecord, removed: list[PurgedRow],
              rows: list[ChainRow]) -> object: ...
    # events stored after ``after_seq`` in arrival (seq) order, at most ``limit``: the
    # live tail (an event's pos comes from the client's clock, its seq from arrival)
    def events_after_seq(self, tenant_id: int, after_seq: int, limit: int
                         ) -> list[StoredEvent]: ...

    # checkpoints
    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...
    def list_checkpoints(self, tenant_id: int) -> list[Checkpoint]: ...
    def latest_checkpoint(self, tenant_id: int) -> Checkpoint | None: ...
    def has_checkpoints(self) -> bool: ...
    def idempotency_digests(self, tenant_id: int, keys: list[str]) -> dict[str, bytes]: ...
