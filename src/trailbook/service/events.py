"""Ingest, read and search events: the one way in for the API and the CLI."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgspec

from trailbook.errors import (
    ErrorDetail,
    NotFound,
    PayloadTooLarge,
    TrailbookError,
    ValidationFailed,
    idempotency_conflict,
)
from trailbook.model.event import EventIn, decode_events
from trailbook.model.normalize import TenantInfo, normalize_batch, translate_decode_error
from trailbook.model.prepared import PreparedEvent
from trailbook.model.timefmt import now_us
from trailbook.query.cursor import decode_cursor, encode_cursor
from trailbook.query.filters import EventFilter
from trailbook.service.checkpoints import CheckpointService
from trailbook.service.pipeline import (
    Apply,
    OnInvalid,
    OnStored,
    Plan,
    StreamResult,
    store_batches,
)
from trailbook.service.tenants import tenant_info
from trailbook.service.validation_pool import (
    PreparedBatch,
    prepare_events,
    prepare_line_batches,
)
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Appended, StoredEvent, Tenant
from trailbook.store.sealing import AppendPlan

# A bulk load storing at least this many events refreshes the planner's statistics.
BULK_STATISTICS_EVENTS = 100_000

log = logging.getLogger("trailbook.ingest")

BULK_BATCH = 5000  # events per validated batch for files, demo data and copies
# Events per transaction when those batches are stored: a few batches at a time.
BULK_TRANSACTION = 20_000
MAX_PAGE = 500
DEFAULT_PAGE = 50


@dataclass(frozen=True)
class SearchPage:
    events: list[StoredEvent]
    next_cursor: str | None


class EventService:
    def __init__(self, store: Store, settings: Settings, checkpoints: CheckpointService) -> None:
        self.store = store
        self.settings = settings
        self.checkpoints = checkpoints

    def _info(self, tenant: Tenant) -> TenantInfo:
        return tenant_info(tenant, search_vector=self.store.keeps_search_vector)

    # -- ingest --------------------------------------------------------------

    def decode(self, body: bytes) -> tuple[list[EventIn], bool]:
        """Read a JSON body: one event (object) or a batch (array)."""
        if len(body) > self.settings.max_body_bytes:
            raise PayloadTooLarge(
                f"the body is {len(body)} bytes; at most {self.settings.max_body_bytes}",
                [ErrorDetail("body", "too large; send smaller batches")],
            )
        if not body.strip():
            raise ValidationFailed("the body is empty", [ErrorDetail("body", "send an event")])
        try:
            return decode_events(body)
        except msgspec.MsgspecError as exc:
            raise translate_decode_error(exc, batch=body.lstrip()[:1] == b"[") from None

    def parse_event(self, raw: bytes | str) -> EventIn:
        """Read one event from a line of JSON (as in NDJSON files)."""
        try:
            return msgspec.json.decode(raw, type=EventIn)
        except msgspec.MsgspecError as exc:
            raise translate_decode_error(exc, batch=False) from None

    def checker(self, tenant: Tenant) -> IngestCheck:
        """A dry run of a stream of events: what would ``ingest_lines`` refuse?"""
        return IngestCheck(self.store, tenant)

    def prepare_lines(
        self, tenant: Tenant, batches: Iterable[list[bytes]], *, processes: int | None = None
    ) -> Iterator[PreparedBatch]:
        """Decode and validate batches of JSON lines, in worker processes when the
        stream is long (``ingest_processes``); nothing is stored."""
        count = self.settings.ingest_processes if processes is None else processes
        return prepare_line_batches(self._info(tenant), batches, count)

    def ingest_lines(
        self,
        tenant: Tenant,
        batches: Iterable[list[bytes]],
        *,
        processes: int | None = None,
        skip_invalid: bool = False,
        on_invalid: OnInvalid | None = None,
        on_stored: OnStored | None = None,
    ) -> StreamResult:
        """Bulk ingest of JSON lines (files, copies): batches are validated in worker
        processes and stored in order, each all-or-nothing, in larger transactions
        than the API's."""
        prepared = self.prepare_lines(tenant, batches, processes=processes)
        return self._loaded(store_batches(
            prepared, *self.bulk_store(tenant), skip_invalid=skip_invalid,
            on_invalid=on_invalid, on_stored=on_stored,
            transaction_events=BULK_TRANSACTION))

    def ingest_stream(
        self,
        tenant: Tenant,
        batches: Iterable[list[EventIn]],
        *,
        skip_invalid: bool = False,
        on_invalid: OnInvalid | None = None,
        on_stored: OnStored | None = None,
    ) -> StreamResult:
        """Bulk ingest of decoded events (demo data), validated in this process."""
        info = self._info(tenant)
        prepared = (prepare_events(info, batch, now_us()) for batch in batches)
        return self._loaded(store_batches(
            prepared, *self.bulk_store(tenant), skip_invalid=skip_invalid,
            on_invalid=on_invalid, on_stored=on_stored,
            transaction_events=BULK_TRANSACTION))

    def _loaded(self, result: StreamResult) -> StreamResult:
        """After a large bulk load, the store's statistics are brought up to date."""
        if result.stored >= BULK_STATISTICS_EVENTS:
            self.store.refresh_statistics()
        return result

    def bulk_store(self, tenant: Tenant) -> tuple[Plan, Apply]:
        """How bulk ingest seals a batch ahead, and how it writes one."""
        info = self._info(tenant)

        def plan(prepared: list[PreparedEvent], after: AppendPlan | None) -> AppendPlan:
            return self.store.plan_append(info, prepared, after)

        def apply(planned: AppendPlan) -> list[Appended]:
            appended = self.store.apply_append(planned)
            # A transaction can hold more than a checkpoint's worth of events: it is
            # checkpointed as that many appends one after another would be, so a bulk
            # load is signed every ``checkpoint_every_events`` as API traffic is.
            every = self.checkpoints.every
            for start in range(0, len(appended), every):
                self.checkpoints.after_append(tenant, appended[start:start + every])
            return appended

        return plan, apply

    def ingest(
        self,
        tenant: Tenant,
        events: list[EventIn],
        *,
        batch: bool = True,
        idempotency_key: str | None = None,
    ) -> list[Appended]:
        """Validate, seal and store ``events`` all-or-nothing. Repeats of stored
        idempotency keys return the stored events instead of new copies."""
        limit = self.settings.max_batch_events
        if not events:
            raise ValidationFailed("the batch is empty", [ErrorDetail("events", "no events")])
        if len(events) > limit:
            raise ValidationFailed(
                f"a batch holds at most {limit} events",
                [ErrorDetail("events", f"{len(events)} events; split the batch")],
            )
        if idempotency_key is not None:
            events = _apply_idempotency_header(events, idempotency_key, batch)
        info = self._info(tenant)
        prepared = normalize_batch(events, info, now_us(), batch=batch)
        appended = self.store.append(info, prepared)
        self.checkpoints.after_append(tenant, appended)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("tenant %s: %d event(s) stored, seq %d-%d", tenant.name, len(appended),
                      appended[0].seq, appended[-1].seq)
        return appended

    # -- read ----------------------------------------------------------------

    def get(self, tenant: Tenant, event_id: str) -> StoredEvent:
        try:
            raw = uuid.UUID(event_id).bytes
        except ValueError:
            raise NotFound("no such event", [ErrorDetail("id", "not an event id")]) from None
        found = self.store.get_event(tenant.id, raw)
        if found is None:
            raise NotFound("no such event", [ErrorDetail("id", event_id)])
        return found

    def search(
        self, tenant: Tenant, flt: EventFilter, cursor: str | None = None, limit: int = DEFAULT_PAGE
    ) -> SearchPage:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(
                "limit out of range", [ErrorDetail("limit", f"between 1 and {MAX_PAGE}")]
            )
        before = decode_cursor(cursor) if cursor else None
        found = self.store.search(tenant.id, flt, before, limit)
        next_cursor = encode_cursor(found[-1].pos) if len(found) == limit else None
        return SearchPage(found, next_cursor)


class IngestCheck:
    """Finds, before anything is stored, every event of a stream that ingest would
    refuse: invalid ones, and idempotency keys reused with other content (earlier in
    the stream or already stored). Feed it the validated stream in order."""

    def __init__(self, store: Store, tenant: Tenant) -> None:
        self.store = store
        self.tenant = tenant
        self.seen: dict[str, bytes | None] = {}

    def check(self, batch: PreparedBatch) -> list[tuple[int, TrailbookError]]:
        """The errors of one batch, by index in the batch."""
        errors = list(batch.errors)
        invalid = {index for index, _ in errors}
        keyed: list[tuple[int, str, bytes | None]] = []
        valid = (index for index in range(batch.size) if index not in invalid)
        for index, prepared in zip(valid, batch.events, strict=True):
            if prepared.idempotency_key is not None:
                keyed.append((index, prepared.idempotency_key, prepared.idempotency_digest))
        stored = self.store.idempotency_digests(self.tenant.id, [k for _, k, _ in keyed])
        for index, key, digest in keyed:
            earlier = self.seen[key] if key in self.seen else stored.get(key, digest)
            if earlier != digest:
                errors.append((index, idempotency_conflict(key)))
            else:
                self.seen.setdefault(key, digest)
        errors.sort(key=lambda e: e[0])
        return errors


def _apply_idempotency_header(events: list[EventIn], key: str, batch: bool) -> list[EventIn]:
    """An ``Idempotency-Key`` header names the request: the event gets that key (in a
    batch, event i without a key of its own gets ``<key>:<i>``)."""
    if not key or len(key) > 200:
        raise ValidationFailed(
            "invalid Idempotency-Key header", [ErrorDetail("Idempotency-Key", "1-200 characters")]
        )
    out = []
    for index, event in enumerate(events):
        wanted = f"{key}:{index}" if batch else key
        if event.idempotency_key is None:
            out.append(msgspec.structs.replace(event, idempotency_key=wanted))
        elif event.idempotency_key != wanted and not batch:
            raise ValidationFailed(
                "the Idempotency-Key header and the idempotency_key field differ",
                [ErrorDetail("idempotency_key", "send one, or the same in both")],
            )
        else:
            out.append(event)
    return out
