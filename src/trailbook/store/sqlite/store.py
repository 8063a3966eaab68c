"""The embedded SQLite store: one file, WAL, one writer, many readers.

Appends take SQLite's write lock (``BEGIN IMMEDIATE``), so the chain of every tenant
is serialised across threads and processes; sealing (seq + hash) happens inside that
transaction. Readers use their own connection per thread and never block the writer."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from trailbook.errors import Conflict, ErrorDetail, StorageError
from trailbook.integrity.chain import GENESIS
from trailbook.model.normalize import TenantInfo
from trailbook.model.prepared import PreparedEvent
from trailbook.query.filters import EventFilter
from trailbook.store.accounts import AccountStore
from trailbook.store.alerts import AlertStore
from trailbook.store.annotations import AnnotationStore
from trailbook.store.export_jobs import ExportJobStore
from trailbook.store.merkle_nodes import MerkleNodeStore
from trailbook.store.positions import SLOTS_PER_MICROSECOND
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
    Sealed,
    StoredKey,
    plan_ahead,
)
from trailbook.store.sqlite import facets, fulltext, library, migrations
from trailbook.store.sqlite import purge as purging
from trailbook.store.sqlite.runner import SQLiteRunner, SQLiteTransactionRunner
from trailbook.store.sqlite.search import compile_search, ip_in
from trailbook.store.task_runs import TaskRunStore

PAGE_SIZE = 8192  # bytes; see _connect
SHARE_SECONDS = 30.0  # how long a tenant's share of the events is taken as read

_EVENT_COLUMNS = "pos, tenant_id, seq, id, category, action, idem_key, idem_digest, hash, doc"
# The sqlite3 module binds int, float, str and bytearray values directly, but looks
# every other value (bytes, None) up as a candidate for adaptation first: ~0.3 µs
# each, five times an event on the writer's critical path. So appended rows carry
# their blobs as bytearray, and an absent idempotency key and digest as empty values
# that the statement turns into NULL (a key has at least one character). Measured
# (docs/benchmarks.md): 3.27 -> 2.32 µs a row to make and bind.
_EVENT_ROW = "(?, ?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, x''), ?, ?)"
_NO_BLOB = bytearray()
_FTS_COLUMNS = fulltext.COLUMNS
# Rows per INSERT statement: one sqlite3_step each, so few calls (and few GIL
# hand-overs when other threads run); fewer where SQLite binds fewer parameters.
ROWS_PER_STATEMENT = 1000
# An append's full-text rows go in as few statements as SQLite's bound-parameter
# limit allows: FTS5 writes its buffered terms out as a new segment at the end of
# every statement that inserts several rows, and small segments cost merging later.
# A bulk transaction of 20,000 events is one segment where SQLite binds 100,000
# parameters (Debian's and most distributions' builds allow 250,000; SQLite's own
# default is 32,766, 6,553 rows). Counted with callgrind, FTS5 work an event at
# 200,000 demo events: 65,200 instructions in statements of 5,000 rows, 44,600 in
# statements of 20,000 (and 1,000 rows cost 52% more than 5,000 at 40,000 events).
FTS_ROWS_PER_STATEMENT = 1_000_000


@lru_cache(maxsize=64)
def _multi_insert(table: str, columns: str, rows: int, one: str | None) -> str:
    one = one or "(" + ", ".join("?" * (columns.count(",") + 1)) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([one] * rows)


def _insert_values(conn: sqlite3.Connection, table: str, columns: str,
                   values: list[object], one: str | None = None,
                   rows: int = ROWS_PER_STATEMENT) -> None:
    """Insert rows given as one flat list of their values, column after column, up to
    ``rows`` rows a statement (fewer if SQLite binds fewer parameters); ``one`` is a
    row's VALUES (one ? per column unless given)."""
    width = columns.count(",") + 1
    step = min(rows, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width) * width
    for start in range(0, len(values), step):
        chunk = values[start:start + step]
        conn.execute(_multi_insert(table, columns, len(chunk) // width, one), chunk)


# An append's rows as the multi-row INSERTs bind them: the events' values and the
# full-text rows' values, each one flat list.
RowValues = tuple[list[object], list[object]]


def _row_values(
    tenant_id: int, events: list[PreparedEvent], sealed: list[Sealed], slots: dict[int, int]
) -> RowValues:
    """The rows of sealed events, each at the next free position of its microsecond
    (``slots``, which this updates)."""
    event_values: list[object] = []
    fts_values: list[object] = []
    for index, seq, canonical, chain_hash in sealed:
        event = events[index]
        base = event.occurred_us * SLOTS_PER_MICROSECOND
        slot = slots.get(base, 0)
        while slot >= SLOTS_PER_MICROSECOND:  # a full microsecond: use the next
            base += SLOTS_PER_MICROSECOND
            slot = slots.get(base, 0)
        slots[base] = slot + 1
        pos = base + slot
        digest = event.idempotency_digest
        event_values += (
            pos, tenant_id, seq, bytearray(event.id_bytes), event.category, event.action,
            event.idempotency_key or "", _NO_BLOB if digest is None else bytearray(digest),
            bytearray(chain_hash), bytearray(canonical),
        )
        terms = event.terms
        fts_values += (pos, terms.body, terms.actor, terms.target, terms.keys)
    return event_values, fts_values


def _insert_rows(conn: sqlite3.Connection, rows: RowValues) -> None:
    _insert_values(conn, "events", _EVENT_COLUMNS, rows[0], _EVENT_ROW)
    _insert_values(conn, "events_fts", _FTS_COLUMNS, rows[1], rows=FTS_ROWS_PER_STATEMENT)


def path_from_url(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL: {url}")
    return Path(url.removeprefix("sqlite:///"))


class SQLiteStore:
    keeps_search_vector = False

    def __init__(
        self, url: str, *, synchronous: str = "FULL", cache_mb: int = 64, create: bool = True
    ) -> None:
        self.url = url
        self.path = path_from_url(url)
        library.tune()  # before the process's first connection, if this is it
        if not create and not self.path.exists():
            raise StorageError(f"no Trailbook database at {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Owner-only files; SQLite gives the -wal and -shm files the database's mode.
        for private in (self.path, Path(f"{self.path}.lock")):
            if not private.exists():
                os.close(os.open(private, os.O_WRONLY | os.O_CREAT, 0o600))
        self._synchronous = synchronous
        self._cache_kib = cache_mb * 1024
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._lock_file = open(f"{self.path}.lock", "a+b")  # noqa: SIM115 (kept open)
        self._writer = self._connect()
        # Next free slot per occurred microsecond, as this process last wrote them.
        self._slots: dict[int, int] = {}
        migrations.refuse_newer(migrations.current_version(self._writer), str(self.path))
        runner = SQLiteRunner(self._reader, self._write)
        self.accounts = AccountStore(runner)
        self.annotations = AnnotationStore(runner)
        self.merkle = MerkleNodeStore(runner)
        self.saved_searches = SavedSearchStore(runner)
        self.alerts = AlertStore(runner)
        self.export_jobs = ExportJobStore(runner)
        self.task_runs = TaskRunStore(runner)
        self.purges = PurgeStore(runner)
        self.retention_rules = RetentionRuleStore(runner)

    # -- connections ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=60.0
        )
        # Pages of 8 KiB: measured 29.7 -> 24.6 µs of SQLite work per event against the
        # default 4 KiB (docs/benchmarks.md). Takes effect only when the file is created.
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute(f"PRAGMA cache_size = -{self._cache_kib}")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("trailbook_ip_in", 2, ip_in, deterministic=True)
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def _exclusive(self) -> Iterator[sqlite3.Connection]:
        """The writer connection, for one writer at a time: a thread lock inside this
        process, and an advisory file lock across processes (``serve --workers``, the
        CLI beside a server). A waiting writer sleeps in the kernel and wakes as soon
        as the lock is free, instead of SQLite's busy handler polling with growing
        sleeps."""
        with self._write_lock:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield self._writer
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._exclusive() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._lock_file.close()

    # -- schema --------------------------------------------------------------

    def migrate(self) -> list[int]:
        with self._exclusive() as conn:
            return migrations.apply_migrations(conn, str(self.path))

    def schema_version(self) -> tuple[int, int]:
        return migrations.current_version(self._writer), migrations.LATEST

    def require_schema(self) -> None:
        current, latest = self.schema_version()
        if current < latest:
            raise StorageError(
                f"the database at {self.path} is at schema version {current}; "
                f"run 'trailbook migrate' to bring it to {latest}"
            )

    def maintain(self, now: datetime) -> None:
        """Nothing to do ahead of time: SQLite keeps one table."""

    # -- tenants -------------------------------------------------------------

    @staticmethod
    def _tenant(row: Any) -> Tenant:
        return Tenant(row[0], row[1], tuple(orjson.loads(row[2])), row[3])

    def create_tenant(self, name: str, created_at: str) -> Tenant:
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE name = ?", (name,)).fetchone():
                raise Conflict("a tenant of that name exists", [ErrorDetail("tenant", name)])
            cur = conn.execute(
                "INSERT INTO tenants (name, categories, created_at) VALUES (?, '[]', ?)",
                (name, created_at),
            )
            tenant_id = int(cur.lastrowid or 0)
        return Tenant(tenant_id, name, (), created_at)

    def get_tenant(self, name: str) -> Tenant | None:
        row = (
            self._reader()
            .execute("SELECT id, name, categories, created_at FROM tenants WHERE name = ?", (name,))
            .fetchone()
        )
        return self._tenant(row) if row else None

    def get_tenant_by_id(self, tenant_id: int) -> Tenant | None:
        row = (
            self._reader()
            .execute(
                "SELECT id, name, categories, created_at FROM tenants WHERE id = ?", (tenant_id,)
            )
            .fetchone()
        )
        return self._tenant(row) if row else None

    def list_tenants(self) -> list[Tenant]:
        rows = (
            self._reader()
            .execute("SELECT id, name, categories, created_at FROM tenants ORDER BY id")
            .fetchall()
        )
        return [self._tenant(r) for r in rows]

    def set_tenant_categories(self, tenant_id: int, categories: tuple[str, ...]) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE tenants SET categories = ? WHERE id = ?",
                (orjson.dumps(list(categories)).decode(), tenant_id),
            )

    # -- events: append ------------------------------------------------------

    def append(self, tenant: TenantInfo, events: list[PreparedEvent]) -> list[Appended]:
        """Seal and store ``events`` in one transaction: all or nothing."""
        return self.apply_append(AppendPlan(tenant, events))

    def plan_append(
        self, tenant: TenantInfo, events: list[PreparedEvent], after: AppendPlan | None
    ) -> AppendPlan:
        """Seal ``events`` ahead of their transaction, onto the head ``after`` leaves
        (see ``sealing.plan_ahead``), and make their rows."""
        plan = plan_ahead(tenant, events, after, lambda: self._head(self._reader(), tenant.id))
        if plan.batch is not None:
            plan.rows = _row_values(tenant.id, events, plan.batch.sealed, self._slots)
        return plan

    def apply_append(self, plan: AppendPlan) -> list[Appended]:
        """Store a planned batch in one transaction, all or nothing: as planned if the
        chain head is the one it was sealed onto, else sealed here."""
        tenant, events = plan.tenant, plan.events
        with self._write() as conn:
            head = self._head(conn, tenant.id)
            batch = plan.seal_at(head, lambda keys: _stored_keys(conn, tenant.id, keys))
            if batch.sealed:
                self._insert(conn, tenant.id, events, batch.sealed, plan.rows)
                MerkleNodeStore(SQLiteTransactionRunner(conn)).grow(
                    tenant.id, head[0], [canonical for _, _, canonical, _ in batch.sealed],
                    plan.leaves)
                conn.execute(
                    "INSERT INTO chain_heads (tenant_id, seq, hash) VALUES (?, ?, ?)"
                    " ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq,"
                    " hash = excluded.hash",
                    (tenant.id, *batch.head),
                )
        return batch.answers()

    @staticmethod
    def _head(conn: sqlite3.Connection, tenant_id: int) -> ChainHeadValue:
        row = conn.execute(
            "SELECT seq, hash FROM chain_heads WHERE tenant_id = ?", (tenant_id,)
        ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else (0, GENESIS)

    def _insert(
        self,
        conn: sqlite3.Connection,
        tenant_id: int,
        events: list[PreparedEvent],
        sealed: list[Sealed],
        rows: RowValues | None,
    ) -> None:
        """Insert sealed events and their full-text rows (``rows``, if made ahead).

        Positions come first from the slots this process remembers using; if another
        writer (or a restart) makes one collide, the batch is redone with each
        position looked up in the table."""
        conn.execute("SAVEPOINT place")
        try:
            _insert_rows(conn, rows or _row_values(tenant_id, events, sealed, self._slots))
        except sqlite3.IntegrityError as exc:
            if "events.tenant_id, events.seq" in str(exc):
                raise StorageError(
                    "the stored chain head is behind the stored events, so new events "
                    "cannot be sealed; run 'trailbook verify' (the database was altered)"
                ) from None
            if "events.pos" not in str(exc):
                raise
            conn.execute("ROLLBACK TO place")
            self._slots.clear()
            _insert_rows(conn, _row_values(tenant_id, events, sealed, _LookedUpSlots(conn)))
        conn.execute("RELEASE place")
        if len(self._slots) > 200_000:
            self._slots.clear()

    # -- events: retention ---------------------------------------------------

    def purge_scan(self, tenant_id: int, category: str, after_pos: int, before_pos: int,
                   limit: int) -> list[ChainRow]:
        return purging.scan(self._reader(), tenant_id, category, after_pos, before_pos,
                            limit)

    def purge(self, tenant: TenantInfo, record: PurgeRecord, removed: list[PurgedRow],
              rows: list[ChainRow]) -> None:
        """Remove ``rows`` for good and file the purge, in one transaction."""
        try:
            with self._write() as conn:
                purging.purge(conn, tenant, record, removed, rows)
        except sqlite3.IntegrityError as exc:
            raise Conflict("another retention run purged some of these events first",
                           [ErrorDetail("purge", str(exc))]) from None

    # -- events: read --------------------------------------------------------

    def get_event(self, tenant_id: int, event_id: bytes) -> StoredEvent | None:
        row = (
            self._reader()
            .execute(
                "SELECT pos, seq, doc, hash FROM events WHERE id = ? AND tenant_id = ?",
                (event_id, tenant_id),
            )
            .fetchone()
        )
        return StoredEvent(row[0], row[1], row[2], row[3]) if row else None

    def search(
        self, tenant_id: int, flt: EventFilter, before_pos: int | None, limit: int
    ) -> list[StoredEvent]:
        sql, params = compile_search(tenant_id, flt, before_pos, limit,
                                     self._needs_tenant_token(tenant_id))
        rows = self._reader().execute(sql, params).fetchall()
        return [StoredEvent(r[0], r[1], r[2], r[3]) for r in rows]

    def count_matches(
        self, tenant_id: int, flt: EventFilter, cap: int, timeout_ms: int
    ) -> MatchCount | None:
        return facets.count_matches(self._reader(), tenant_id, flt, cap, timeout_ms)

    def newest_docs(
        self, tenant_id: int, flt: EventFilter, limit: int, timeout_ms: int
    ) -> list[bytes] | None:
        return facets.newest_docs(self._reader(), tenant_id, flt, limit, timeout_ms,
                                  self._needs_tenant_token(tenant_id))

    _shares: tuple[float, dict[int, float]] = (0.0, {})  # (when read, tenant -> share)

    def _needs_tenant_token(self, tenant_id: int) -> bool:
        """Whether a search of words alone should also match the tenant's token: yes
        unless the tenant holds at least half of the events (``compile_match``). The
        shares are re-read from the chain heads every ``SHARE_SECONDS``; a stale share
        costs only speed."""
        read_at, shares = self._shares
        now = time.monotonic()
        if now - read_at > SHARE_SECONDS:
            heads = self._reader().execute(
                "SELECT tenant_id, seq FROM chain_heads").fetchall()
            total = sum(seq for _, seq in heads)
            shares = {tenant: seq / total for tenant, seq in heads} if total else {}
            self._shares = (now, shares)
        return shares.get(tenant_id, 0.0) < 0.5

    def histogram_counts(
        self, tenant_id: int, flt: EventFilter, origin_us: int, bucket_us: int,
        timeout_ms: int,
    ) -> list[tuple[int, int]] | None:
        return facets.histogram_counts(self._reader(), tenant_id, flt, origin_us, bucket_us,
                                       timeout_ms)

    def time_span(self, tenant_id: int) -> tuple[int, int] | None:
        return facets.time_span(self._reader(), tenant_id)

    def refresh_statistics(self) -> None:
        """Nothing to do: SQLite's plans here follow from the indexes and the FTS5
        index, not from table statistics."""

    def iter_chain(self, tenant_id: int, after_seq: int = 0) -> Iterator[ChainRow]:
        conn = self._reader()
        after = after_seq
        while True:
            rows = conn.execute(
                "SELECT seq, pos, id, category, action, idem_key, doc, hash FROM events"
                " WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT 5000",
                (tenant_id, after),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                # A record edited behind Trailbook's back may come back as TEXT: verify
                # must see its bytes (and call it changed), not crash.
                yield ChainRow(r[0], r[1], _bytes(r[2]), str(r[3]), str(r[4]), r[5],
                               _bytes(r[6]), _bytes(r[7]))
            after = rows[-1][0]

    def chain_links(
        self, tenant_id: int, after_seq: int, until_seq: int
    ) -> Iterator[Link]:
        """(seq, doc, hash) of the events after ``after_seq`` up to ``until_seq``, in
        seq order: the least a re-link needs, read in large pages. An event retention
        removed comes as (seq, None, the hash kept of it)."""
        conn = self._reader()
        after = after_seq
        while after < until_seq:
            rows = conn.execute(
                "SELECT seq, doc, hash FROM events WHERE tenant_id = ? AND seq > ?"
                " AND seq <= ? ORDER BY seq LIMIT 5000",
                (tenant_id, after, until_seq),
            ).fetchall()
            end = rows[-1][0] if len(rows) == 5000 else until_seq
            links = links_with_purged(
                self.purges, tenant_id,
                [(seq, _bytes(doc), _bytes(hash_)) for seq, doc, hash_ in rows], after, end)
            if not links:
                return
            yield from links
            after = end

    def events_after_seq(self, tenant_id: int, after_seq: int, limit: int
                         ) -> list[StoredEvent]:
        rows = self._reader().execute(
            "SELECT pos, seq, doc, hash FROM events WHERE tenant_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",  # the unique index events_tenant_seq
            (tenant_id, after_seq, limit),
        ).fetchall()
        return [StoredEvent(r[0], r[1], r[2], r[3]) for r in rows]

    def chain_head(self, tenant_id: int) -> ChainHead | None:
        row = (
            self._reader()
            .execute(
                "SELECT tenant_id, seq, hash FROM chain_heads WHERE tenant_id = ?", (tenant_id,)
            )
            .fetchone()
        )
        return ChainHead(row[0], row[1], row[2]) if row else None

    # -- checkpoints ---------------------------------------------------------

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        c = checkpoint
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO checkpoints (tenant_id, seq, hash, created_at, key_id,"
                " signature, tree_root) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c.tenant_id, c.seq, c.hash, c.created_at, c.key_id, c.signature, c.tree_root),
            )

    def list_checkpoints(self, tenant_id: int) -> list[Checkpoint]:
        rows = (
            self._reader()
            .execute(
                "SELECT tenant_id, seq, hash, created_at, key_id, signature, tree_root"
                " FROM checkpoints"
                " WHERE tenant_id = ? ORDER BY seq",
                (tenant_id,),
            )
            .fetchall()
        )
        return [Checkpoint(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def latest_checkpoint(self, tenant_id: int) -> Checkpoint | None:
        r = (
            self._reader()
            .execute(
                "SELECT tenant_id, seq, hash, created_at, key_id, signature, tree_root"
                " FROM checkpoints"
                " WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
                (tenant_id,),
            )
            .fetchone()
        )
        return Checkpoint(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) if r else None

    def has_checkpoints(self) -> bool:
        return self._reader().execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone() is not None

    def idempotency_digests(self, tenant_id: int, keys: list[str]) -> dict[str, bytes]:
        """The stored digests of those of ``keys`` already used in this tenant."""
        stored = _stored_keys(self._reader(), tenant_id, keys)
        return {key: found.digest for key, found in stored.items()}


def _stored_keys(conn: sqlite3.Connection, tenant_id: int,
                 keys: list[str]) -> dict[str, StoredKey]:
    found: dict[str, StoredKey] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for key, digest, event_id, seq, hash_ in conn.execute(
            "SELECT idem_key, idem_digest, id, seq, hash FROM events WHERE tenant_id = ?"
            f" AND idem_key IN ({', '.join('?' * len(chunk))})", (tenant_id, *chunk)
        ):
            found[key] = StoredKey(bytes(digest), str(uuid.UUID(bytes=bytes(event_id))),
                                   int(seq), bytes(hash_))
    return found


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return str(value).encode()


class _LookedUpSlots(dict[int, int]):
    """Next free slot per microsecond, read from the table when first asked."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn

    def get(self, base: int, default: int = 0) -> int:  # type: ignore[override]
        if base not in self:
            row = self.conn.execute(
                "SELECT max(pos) FROM events WHERE pos >= ? AND pos < ?",
                (base, base + SLOTS_PER_MICROSECOND),
            ).fetchone()
            self[base] = default if row[0] is None else int(row[0]) - base + 1
        return self[base]
