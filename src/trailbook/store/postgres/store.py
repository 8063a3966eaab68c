"""The PostgreSQL store: a connection pool, COPY for batches, month partitions, and a
row lock per tenant that keeps one gap-free chain across processes and hosts.

Every append locks its tenant's ``chain_heads`` row (``SELECT ... FOR UPDATE``) for the
length of its transaction and seals (seq + hash) under that lock, so any number of
``trailbook serve`` workers on any number of hosts can write to one database."""

from __future__ import annotations

import logging
import re
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from trailbook.errors import Conflict, ErrorDetail, StorageError
from trailbook.integrity.chain import GENESIS
from trailbook.model.normalize import TenantInfo
from trailbook.model.prepared import PreparedEvent
from trailbook.query.filters import EventFilter
from trailbook.query.tsvector import tsvector_binary
from trailbook.store.accounts import AccountStore
from trailbook.store.alerts import AlertStore
from trailbook.store.annotations import AnnotationStore
from trailbook.store.export_jobs import ExportJobStore
from trailbook.store.merkle_nodes import MerkleNodeStore
from trailbook.store.positions import SLOTS_PER_MICROSECOND
from trailbook.store.postgres import facets, migrations
from trailbook.store.postgres import purge as purging
from trailbook.store.postgres.first_page import search_page
from trailbook.store.postgres.partitions import PARTITION_LOCK, months_to_keep
from trailbook.store.postgres.runner import PostgresRunner, PostgresTransactionRunner
from trailbook.store.purges import Link, PurgedRow, PurgeRecord, PurgeStore, links_with_purged
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
from trailbook.store.sealing import (
    AppendPlan,
    ChainHeadValue,
    StoredKey,
    plan_ahead,
)
from trailbook.store.task_runs import TaskRunStore

log = logging.getLogger("trailbook.store.postgres")


_EVENT_COLUMNS = (
    "tenant_id, pos, seq, id, category, action, idem_key, hash, doc, search, metadata, changes"
)
_CHECKPOINT_COLUMNS = "tenant_id, seq, hash, created_at, key_id, signature, tree_root"
PAGE = 5000


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore:
    keeps_search_vector = True

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        """Connect to an existing database (its administrator makes it; Trailbook makes
        its tables with ``migrate``)."""
        self.url = redact(url)
        try:  # one direct attempt first: a wrong URL fails at once, not after retries
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            raise StorageError(f"cannot connect to PostgreSQL at {self.url}: {reason}") from None
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max(pool_size, 2),
            kwargs={"autocommit": True}, open=False, name="trailbook",
        )
        try:
            self._pool.open(wait=True, timeout=15)
        except Exception as exc:
            self._pool.close()
            raise StorageError(f"cannot connect to PostgreSQL at {self.url}: {exc}") from None
        # Next free slot per occurred microsecond, as this process last wrote them.
        self._slots: dict[tuple[int, int], int] = {}
        with self._pool.connection() as conn:
            encoding = conn.execute("SHOW server_encoding").fetchone()
            if not encoding or encoding[0] != "UTF8":
                self._pool.close()
                raise StorageError(
                    f"the database at {self.url} uses encoding {encoding and encoding[0]}; "
                    "Trailbook needs a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8')"
                )
            migrations.refuse_newer(migrations.current_version(conn), self.url)
        runner = PostgresRunner(self._pool)
        self.accounts = AccountStore(runner)
        self.annotations = AnnotationStore(runner)
        self.merkle = MerkleNodeStore(runner)
        self.saved_searches = SavedSearchStore(runner)
        self.alerts = AlertStore(runner)
        self.export_jobs = ExportJobStore(runner)
        self.task_runs = TaskRunStore(runner)
        self.purges = PurgeStore(runner)
        self.retention_rules = RetentionRuleStore(runner)

    def close(self) -> None:
        self._pool.close()

    # -- schema --------------------------------------------------------------

    def migrate(self) -> list[int]:
        with self._pool.connection() as conn:
            applied = migrations.apply_migrations(conn, self.url)
        self.maintain(datetime.now(UTC))
        return applied

    def schema_version(self) -> tuple[int, int]:
        with self._pool.connection() as conn:
            return migrations.current_version(conn), migrations.LATEST

    def require_schema(self) -> None:
        current, latest = self.schema_version()
        if current < latest:
            raise StorageError(
                f"the database at {self.url} is at schema version {current}; "
                f"run 'trailbook migrate' to bring it to {latest}"
            )

    def maintain(self, now: datetime) -> None:
        """Create the month partitions from ``now``'s month to a few months ahead."""
        with self._pool.connection() as conn:
            if migrations.current_version(conn) == 0:
                return
            existing = {
                row[0] for row in conn.execute(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " WHERE i.inhparent = 'events'::regclass"
                )
            }
            for month in months_to_keep(now):
                if month.name in existing:
                    continue
                low, high = month.bounds()
                try:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
                        conn.execute(
                            f"CREATE TABLE IF NOT EXISTS {month.name} PARTITION OF events"
                            f" FOR VALUES FROM ({low}) TO ({high})"
                        )
                        # Row triggers come with the partition; TRUNCATE ones do not.
                        conn.execute(
                            f"CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE"
                            f" ON {month.name} FOR EACH STATEMENT"
                            " EXECUTE FUNCTION trailbook_refuse_history_change()"
                        )
                except pg_errors.CheckViolation:
                    # The default partition already holds events of that month (sent
                    # with clocks far ahead); they stay there, still found and verified.
                    log.warning("partition %s not created: the default partition holds "
                                "events of that month", month.name)

    # -- tenants -------------------------------------------------------------

    @staticmethod
    def _tenant(row: Any) -> Tenant:
        return Tenant(row[0], row[1], tuple(orjson.loads(row[2])), row[3])

    def create_tenant(self, name: str, created_at: str) -> Tenant:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "INSERT INTO tenants (name, categories, created_at) VALUES (%s, '[]', %s)"
                " ON CONFLICT (name) DO NOTHING RETURNING id",
                (name, created_at),
            ).fetchone()
            if row is None:
                raise Conflict("a tenant of that name exists", [ErrorDetail("tenant", name)])
            conn.execute(
                "INSERT INTO chain_heads (tenant_id, seq, hash) VALUES (%s, 0, %s)",
                (row[0], GENESIS),
            )
        return Tenant(int(row[0]), name, (), created_at)

    def _one(self, sql: str, params: tuple[object, ...] | list[object]) -> Any:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[object, ...] | list[object]) -> list[Any]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def get_tenant(self, name: str) -> Tenant | None:
        row = self._one("SELECT id, name, categories, created_at FROM tenants WHERE name = %s",
                        (name,))
        return self._tenant(row) if row else None

    def get_tenant_by_id(self, tenant_id: int) -> Tenant | None:
        row = self._one("SELECT id, name, categories, created_at FROM tenants WHERE id = %s",
                        (tenant_id,))
        return self._tenant(row) if row else None

    def list_tenants(self) -> list[Tenant]:
        rows = self._all("SELECT id, name, categories, created_at FROM tenants ORDER BY id", ())
        return [self._tenant(r) for r in rows]

    def set_tenant_categories(self, tenant_id: int, categories: tuple[str, ...]) -> None:
        with self._pool.connection() as conn:
            conn.execute("UPDATE tenants SET categories = %s WHERE id = %s",
                         (orjson.dumps(list(categories)).decode(), tenant_id))

    # -- events: append ------------------------------------------------------

    def append(self, tenant: TenantInfo, events: list[PreparedEvent]) -> list[Appended]:
        """Seal and store ``events`` in one transaction: all or nothing."""
        return self.apply_append(AppendPlan(tenant, events))

    def plan_append(
        self, tenant: TenantInfo, events: list[PreparedEvent], after: AppendPlan | None
    ) -> AppendPlan:
        """Seal ``events`` ahead of their transaction, onto the head ``after`` leaves
        (see ``sealing.plan_ahead``), and make their COPY data."""
        plan = plan_ahead(tenant, events, after, lambda: self._committed_head(tenant))
        if plan.batch is not None:
            plan.rows = copy_rows(tenant.id, events, plan.batch.sealed, self._slots)
        return plan

    def _committed_head(self, tenant: TenantInfo) -> ChainHeadValue:
        row = self._one("SELECT seq, hash FROM chain_heads WHERE tenant_id = %s", (tenant.id,))
        if row is None:
            raise StorageError(f"no chain for tenant {tenant.name!r} (id {tenant.id})")
        return int(row[0]), bytes(row[1])

    def apply_append(self, plan: AppendPlan) -> list[Appended]:
        """Store a planned batch in one transaction, all or nothing: as planned if the
        chain head is the one it was sealed onto, else sealed here."""
        tenant, events = plan.tenant, plan.events
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT seq, hash FROM chain_heads WHERE tenant_id = %s FOR UPDATE",
                (tenant.id,),
            ).fetchone()
            if row is None:
                raise StorageError(f"no chain for tenant {tenant.name!r} (id {tenant.id})")
            head = (int(row[0]), bytes(row[1]))
            batch = plan.seal_at(head, lambda keys: _stored_keys(conn, tenant.id, keys))
            if batch.sealed:
                # A partitioned table cannot hold a unique (tenant_id, seq) index, so
                # the next seq is checked here, under the lock.
                if conn.execute("SELECT 1 FROM events WHERE tenant_id = %s AND seq = %s",
                                (tenant.id, batch.sealed[0][1])).fetchone():
                    raise StorageError(
                        "the stored chain head is behind the stored events, so new events "
                        "cannot be sealed; run 'trailbook verify' (the database was altered)"
                    )
                self._insert(conn, tenant.id, events, batch.sealed, plan.rows)
                MerkleNodeStore(PostgresTransactionRunner(conn)).grow(
                    tenant.id, head[0], [canonical for _, _, canonical, _ in batch.sealed],
                    plan.leaves)
                seq, prev = batch.head
                conn.execute("UPDATE chain_heads SET seq = %s, hash = %s WHERE tenant_id = %s",
                             (seq, prev, tenant.id))
        return batch.answers()

    def _insert(
        self,
        conn: psycopg.Connection,
        tenant_id: int,
        events: list[PreparedEvent],
        sealed: list[tuple[int, int, bytes, bytes]],
        rows: bytes | None,
    ) -> None:
        """COPY the sealed events in (``rows``, if made ahead). Positions come first
        from the slots this process remembers; if another process used one (a unique
        violation), the batch is redone with the positions looked up in the table."""
        try:
            with conn.transaction():
                _copy_events(conn, rows or copy_rows(tenant_id, events, sealed, self._slots))
        except pg_errors.UniqueViolation:
            self._slots.clear()
            bases = sorted({events[i].occurred_us * SLOTS_PER_MICROSECOND for i, *_ in sealed})
            _copy_events(conn, copy_rows(tenant_id, events, sealed,
                                         _LookedUpSlots(conn, tenant_id, bases)))
        keyed = [(tenant_id, events[i].idempotency_key, events[i].idempotency_digest,
                  events[i].id, seq, chain_hash)
                 for i, seq, _, chain_hash in sealed if events[i].idempotency_key is not None]
        if keyed:
            with conn.cursor() as cur, cur.copy(
                "COPY idempotency_keys (tenant_id, key, digest, id, seq, hash) FROM STDIN"
            ) as copy:
                for row in keyed:
                    copy.write_row(row)
        if len(self._slots) > 200_000:
            self._slots.clear()

    # -- events: read --------------------------------------------------------

    def get_event(self, tenant_id: int, event_id: bytes) -> StoredEvent | None:
        row = self._one(
            "SELECT pos, seq, doc, hash FROM events WHERE id = %s AND tenant_id = %s",
            (uuid.UUID(bytes=event_id), tenant_id),
        )
        return StoredEvent(row[0], row[1], row[2].encode(), bytes(row[3])) if row else None

    def search(
        self, tenant_id: int, flt: EventFilter, before_pos: int | None, limit: int
    ) -> list[StoredEvent]:
        with self._pool.connection() as conn:
            rows = search_page(conn, tenant_id, flt, before_pos, limit)
        return [StoredEvent(r[0], r[1], r[2].encode(), bytes(r[3])) for r in rows]

    def count_matches(
        self, tenant_id: int, flt: EventFilter, cap: int, timeout_ms: int
    ) -> MatchCount | None:
        with self._pool.connection() as conn:
            return facets.count_matches(conn, tenant_id, flt, cap, timeout_ms)

    def newest_docs(
        self, tenant_id: int, flt: EventFilter, limit: int, timeout_ms: int
    ) -> list[bytes] | None:
        with self._pool.connection() as conn:
            return facets.newest_docs(conn, tenant_id, flt, limit, timeout_ms)

    def histogram_counts(
        self, tenant_id: int, flt: EventFilter, origin_us: int, bucket_us: int,
        timeout_ms: int,
    ) -> list[tuple[int, int]] | None:
        with self._pool.connection() as conn:
            return facets.histogram_counts(conn, tenant_id, flt, origin_us, bucket_us,
                                           timeout_ms)

    def time_span(self, tenant_id: int) -> tuple[int, int] | None:
        with self._pool.connection() as conn:
            return facets.time_span(conn, tenant_id)

    def refresh_statistics(self) -> None:
        """``ANALYZE`` the events: until autovacuum gets to rows a bulk load brought,
        the planner takes the partitions for nearly empty and scans a whole one for a
        rare term (actor email: 871 ms a page at a million events, 2 ms after)."""
        with self._pool.connection() as conn:
            conn.execute("ANALYZE events")

    def iter_chain(self, tenant_id: int, after_seq: int = 0) -> Iterator[ChainRow]:
        after = after_seq
        while True:
            rows = self._all(
                "SELECT seq, pos, id, category, action, idem_key, doc, hash FROM events"
                " WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                (tenant_id, after, PAGE),
            )
            if not rows:
                return
            for r in rows:
                yield ChainRow(r[0], r[1], r[2].bytes, r[3], r[4], r[5], r[6].encode(),
                               bytes(r[7]))
            after = rows[-1][0]

    def purge_scan(self, tenant_id: int, category: str, after_pos: int, before_pos: int,
                   limit: int) -> list[ChainRow]:
        with self._pool.connection() as conn:
            return purging.scan(conn, tenant_id, category, after_pos, before_pos, limit)

    def purge(self, tenant: TenantInfo, record: PurgeRecord, removed: list[PurgedRow],
              rows: list[ChainRow]) -> list[str]:
        """Remove ``rows`` for good and file the purge, in one transaction; the month
        partitions dropped whole."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                return purging.purge(conn, tenant, record, removed, rows)
        except pg_errors.UniqueViolation as exc:
            raise Conflict("another retention run purged some of these events first",
                           [ErrorDetail("purge", str(exc).splitlines()[0])]) from None

    def chain_links(
        self, tenant_id: int, after_seq: int, until_seq: int
    ) -> Iterator[Link]:
        after = after_seq
        while after < until_seq:
            rows = self._all(
                "SELECT seq, doc, hash FROM events WHERE tenant_id = %s AND seq > %s"
                " AND seq <= %s ORDER BY seq LIMIT %s",
                (tenant_id, after, until_seq, PAGE),
            )
            end = rows[-1][0] if len(rows) == PAGE else until_seq
            links = links_with_purged(
                self.purges, tenant_id,
                [(seq, doc.encode(), bytes(hash_)) for seq, doc, hash_ in rows], after, end)
            if not links:
                return
            yield from links
            after = end

    def events_after_seq(self, tenant_id: int, after_seq: int, limit: int
                         ) -> list[StoredEvent]:
        rows = self._all(
            "SELECT pos, seq, doc, hash FROM events WHERE tenant_id = %s AND seq > %s"
            " ORDER BY seq LIMIT %s",  # events_tenant_seq, merged across partitions
            (tenant_id, after_seq, limit),
        )
        return [StoredEvent(r[0], r[1], r[2].encode(), bytes(r[3])) for r in rows]

    def chain_head(self, tenant_id: int) -> ChainHead | None:
        row = self._one("SELECT tenant_id, seq, hash FROM chain_heads WHERE tenant_id = %s",
                        (tenant_id,))
        if row is None or row[1] == 0:
            return None  # the row made with the tenant: nothing appended yet
        return ChainHead(row[0], row[1], bytes(row[2]))

    # -- checkpoints ---------------------------------------------------------

    @staticmethod
    def _checkpoint(r: Any) -> Checkpoint:
        return Checkpoint(r[0], r[1], bytes(r[2]), r[3], r[4], bytes(r[5]),
                          None if r[6] is None else bytes(r[6]))

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        c = checkpoint
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO checkpoints ({_CHECKPOINT_COLUMNS}) VALUES (%s, %s, %s, %s, %s,"
                " %s, %s) ON CONFLICT (tenant_id, seq) DO NOTHING",
                (c.tenant_id, c.seq, c.hash, c.created_at, c.key_id, c.signature, c.tree_root),
            )

    def list_checkpoints(self, tenant_id: int) -> list[Checkpoint]:
        rows = self._all(f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE tenant_id = %s"
                         " ORDER BY seq", (tenant_id,))
        return [self._checkpoint(r) for r in rows]

    def latest_checkpoint(self, tenant_id: int) -> Checkpoint | None:
        row = self._one(f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE tenant_id = %s"
                        " ORDER BY seq DESC LIMIT 1", (tenant_id,))
        return self._checkpoint(row) if row else None

    def has_checkpoints(self) -> bool:
        return self._one("SELECT 1 FROM checkpoints LIMIT 1", ()) is not None

    def idempotency_digests(self, tenant_id: int, keys: list[str]) -> dict[str, bytes]:
        """The stored digests of those of ``keys`` already used in this tenant."""
        with self._pool.connection() as conn:
            stored = _stored_keys(conn, tenant_id, keys)
        return {key: found.digest for key, found in stored.items()}


def _stored_keys(conn: psycopg.Connection, tenant_id: int,
                 keys: list[str]) -> dict[str, StoredKey]:
    return {
        key: StoredKey(bytes(digest), str(event_id), int(seq), bytes(hash_))
        for key, digest, event_id, seq, hash_ in conn.execute(
            "SELECT key, digest, id, seq, hash FROM idempotency_keys"
            " WHERE tenant_id = %s AND key = ANY(%s)", (tenant_id, keys))
    }


class _JsonParts(msgspec.Struct):
    """The parts of a canonical document kept again as jsonb, as raw JSON slices."""

    metadata: msgspec.Raw = msgspec.Raw(b"null")
    changes: msgspec.Raw = msgspec.Raw(b"[]")


_json_parts = msgspec.json.Decoder(_JsonParts)

# COPY's binary format: a signature, flags and header extension, then each row as its
# field count and each field as its length (-1: NULL) and bytes, then -1.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_ROW_START = struct.Struct("!hii")  # 12 fields; tenant_id (int4): length 4, value
_INT8 = struct.Struct("!iq")  # length 8, value
_LENGTH = struct.Struct("!i")
_NULL = _LENGTH.pack(-1)
_UUID_LENGTH = _LENGTH.pack(16)
_HASH_LENGTH = _LENGTH.pack(32)
_JSONB_VERSION = b"\x01"

# \u0000 in JSON text, but not an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def _jsonb(raw: msgspec.Raw) -> bytes:
    """A raw JSON slice as a binary jsonb field. jsonb cannot hold U+0000, so this
    copy (not the document) shows it as U+FFFD."""
    text = bytes(raw)
    if b"\\u0000" in text:
        text = _NUL_ESCAPE.sub(rb"\1\\ufffd", text)
    return _LENGTH.pack(len(text) + 1) + _JSONB_VERSION + text


def _field(value: bytes) -> bytes:
    return _LENGTH.pack(len(value)) + value


def copy_rows(
    tenant_id: int,
    events: list[PreparedEvent],
    sealed: list[tuple[int, int, bytes, bytes]],
    slots: dict[tuple[int, int], int],
) -> bytes:
    """The sealed events as one binary COPY, placed at their positions (next free
    slot per microsecond, recorded in ``slots``). Binary, because the server reads a
    binary tsvector in ~5 µs an event and a literal in ~13 (docs/benchmarks.md);
    nothing needs escaping either."""
    out = [_COPY_HEADER]
    row_start = _ROW_START.pack(12, 4, tenant_id)
    for index, seq, canonical, chain_hash in sealed:
        event = events[index]
        base = event.occurred_us * SLOTS_PER_MICROSECOND
        slot = slots.get((tenant_id, base), 0)
        while slot >= SLOTS_PER_MICROSECOND:  # a full microsecond: use the next
            base += SLOTS_PER_MICROSECOND
            slot = slots.get((tenant_id, base), 0)
        slots[(tenant_id, base)] = slot + 1
        parts = _json_parts.decode(canonical)
        key = event.idempotency_key
        out += (
            row_start, _INT8.pack(8, base + slot), _INT8.pack(8, seq),
            _UUID_LENGTH, event.id_bytes,
            _field(event.category.encode()), _field(event.action.encode()),
            _NULL if key is None else _field(key.encode()),
            _HASH_LENGTH, chain_hash, _field(canonical),
            _field(event.terms.vector or tsvector_binary(event.terms)),
            _jsonb(parts.metadata), _jsonb(parts.changes),
        )
    out.append(_COPY_TRAILER)
    return b"".join(out)


def _copy_events(conn: psycopg.Connection, data: bytes) -> None:
    """One COPY of the batch, written in one piece."""
    with conn.cursor() as cur, cur.copy(
            f"COPY events ({_EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(data)


class _LookedUpSlots(dict[tuple[int, int], int]):
    """Next free slot per microsecond, read from the table: all of a batch's in one
    query up front, any other (a full microsecond spilling over) when first asked."""

    def __init__(self, conn: psycopg.Connection, tenant_id: int, bases: list[int]) -> None:
        super().__init__()
        self.conn = conn
        self.tenant_id = tenant_id
        for start in range(0, len(bases), PAGE):
            self._read(bases[start:start + PAGE])

    def _read(self, bases: list[int]) -> None:
        for base, highest in self.conn.execute(
            "SELECT b, (SELECT max(pos) FROM events WHERE tenant_id = %s AND pos >= b"
            " AND pos < b + %s) FROM unnest(%s::bigint[]) AS b",
            (self.tenant_id, SLOTS_PER_MICROSECOND, bases),
        ):
            self[(self.tenant_id, base)] = 0 if highest is None else int(highest) - base + 1

    def get(self, key: tuple[int, int], default: int = 0) -> int:  # type: ignore[override]
        if key not in self:
            self._read([key[1]])
        return self[key]
