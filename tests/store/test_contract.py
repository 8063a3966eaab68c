"""The storage contract: what every backend must do, run against SQLite and PostgreSQL
alike. Ingest, idempotency, reads, every filter, pagination, text search, tenant
isolation, verification, several writers on one chain, and the schema version check.
(Tamper detection on both backends: test_tamper.py; the filters in depth through HTTP:
tests/api/test_search.py, which also runs on both.)"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from trailbook.errors import Conflict, StorageError
from trailbook.integrity.chain import GENESIS, link
from trailbook.model.event import EventIn
from trailbook.model.normalize import normalize_batch
from trailbook.model.timefmt import format_us
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.service.tenants import tenant_info
from trailbook.settings import load_settings
from trailbook.store import open_store
from trailbook.store.records import Tenant

T0 = 1_780_000_000_000_000  # 2026-05-28, microseconds


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def events(raw: list[dict[str, Any]]) -> list[EventIn]:
    return msgspec.convert(raw, list[EventIn])


def ev(i: int, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "action": "user.login", "actor": {"id": f"u-{i % 3}"},
        "occurred_at": format_us(T0 + i * 1_000_000),
    }
    event.update(fields)
    return event


def docs(tb: Trailbook, tenant: Tenant, flt: EventFilter, limit: int = 500) -> list[Any]:
    return [orjson.loads(e.doc) for e in tb.events.search(tenant, flt, None, limit).events]


def seqs(tb: Trailbook, tenant: Tenant, flt: EventFilter) -> list[int]:
    return [d["seq"] for d in docs(tb, tenant, flt)]


# -- ingest and the chain ---------------------------------------------------------


def test_appends_make_one_gap_free_linked_chain(tb: Trailbook, tenant: Tenant) -> None:
    first = tb.events.ingest(tenant, events([ev(i) for i in range(5)]))
    second = tb.events.ingest(tenant, events([ev(i) for i in range(5, 12)]))
    assert [a.seq for a in first + second] == list(range(1, 13))
    prev = GENESIS
    links = list(tb.store.chain_links(tenant.id, 0, 12))
    assert [s for s, _, _ in links] == list(range(1, 13))
    for (_, doc, hash_), appended in zip(links, first + second, strict=True):
        prev = link(prev, doc)
        assert hash_ == prev == appended.hash
    head = tb.store.chain_head(tenant.id)
    assert head is not None and (head.seq, head.hash) == (12, prev)
    assert tb.integrity.verify(tenant).ok


def test_new_tenant_has_no_head_and_verifies_empty(tb: Trailbook, tenant: Tenant) -> None:
    assert tb.store.chain_head(tenant.id) is None
    report = tb.integrity.verify(tenant)
    assert report.ok and report.events_checked == 0


def test_stored_event_reads_back_byte_for_byte(tb: Trailbook, tenant: Tenant) -> None:
    raw = ev(1, description="Rebooted 12 miners in rack B4 — ünïcode ✓",
             metadata={"nested": {"list": [1, 2.5, None, True]}, "größe": "x",
                       "nul": "a\u0000b", "not nul": "\\u0000", "tab": "a\tb\nc"},
             changes=[{"field": "pool", "old": "a", "new": "b"}])
    [appended] = tb.events.ingest(tenant, events([raw]))
    stored = tb.events.get(tenant, appended.id)
    assert stored.seq == appended.seq and stored.hash == appended.hash
    assert link(GENESIS, stored.doc) == stored.hash
    doc = orjson.loads(stored.doc)
    assert doc["description"] == raw["description"]
    assert doc["metadata"] == raw["metadata"]


def test_tenants_are_isolated(tb: Trailbook, tenant: Tenant) -> None:
    other = tb.tenants.create("other")
    [mine] = tb.events.ingest(tenant, events([ev(1, description="secret plan")]))
    [theirs] = tb.events.ingest(other, events([ev(1, description="secret plan")]))
    assert mine.seq == theirs.seq == 1  # one chain per tenant
    assert seqs(tb, other, EventFilter(text="secret")) == [1]
    assert [d["tenant"] for d in docs(tb, other, EventFilter())] == ["other"]
    assert tb.store.get_event(other.id, uuid.UUID(mine.id).bytes) is None


@pytest.mark.parametrize("flt", [EventFilter(text="secret"), EventFilter(text='"secret plan"'),
                                 EventFilter(actor="ann"), EventFilter(target="vault")])
def test_a_tenant_with_most_events_still_finds_only_its_own(tb: Trailbook, tenant: Tenant,
                                                             flt: EventFilter) -> None:
    # SQLite leaves the tenant's token out of a words-only match when the tenant holds
    # at least half of the events (the join keeps to the tenant): both ways isolate.
    other = tb.tenants.create("other")
    shared = {"description": "secret plan", "actor": {"id": "u-1", "name": "Ann"},
              "targets": [{"type": "room", "id": "r-1", "name": "vault"}]}
    tb.events.ingest(tenant, events([ev(i, **shared) for i in range(30)]))
    tb.events.ingest(other, events([ev(i, **shared) for i in range(10)]))
    assert [d["tenant"] for d in docs(tb, tenant, flt)] == ["acme"] * 30
    assert [d["tenant"] for d in docs(tb, other, flt)] == ["other"] * 10
    if hasattr(tb.store, "_needs_tenant_token"):
        assert tb.store._needs_tenant_token(tenant.id) is False
        assert tb.store._needs_tenant_token(other.id) is True


def test_a_rejected_batch_stores_nothing(tb: Trailbook, tenant: Tenant) -> None:
    tb.events.ingest(tenant, events([ev(1, idempotency_key="k1")]))
    before = tb.store.chain_head(tenant.id)
    with pytest.raises(Conflict):
        tb.events.ingest(tenant, events([ev(2), ev(3, idempotency_key="k1",
                                                     description="other content")]))
    assert tb.store.chain_head(tenant.id) == before
    assert seqs(tb, tenant, EventFilter()) == [1]


# -- idempotency --------------------------------------------------------------------


def test_a_repeated_key_returns_the_stored_event(tb: Trailbook, tenant: Tenant) -> None:
    [first] = tb.events.ingest(tenant, events([ev(1, idempotency_key="pay-1")]))
    again = tb.events.ingest(tenant, events([ev(2), ev(1, idempotency_key="pay-1")]))
    assert again[1].duplicate and (again[1].id, again[1].seq, again[1].hash) == (
        first.id, first.seq, first.hash)
    assert again[0].seq == 2 and not again[0].duplicate
    assert tb.store.idempotency_digests(tenant.id, ["pay-1", "nope"]).keys() == {"pay-1"}


def test_a_key_repeated_inside_a_batch_is_stored_once(tb: Trailbook, tenant: Tenant) -> None:
    out = tb.events.ingest(tenant, events([ev(1, idempotency_key="x"), ev(1, idempotency_key="x")]))
    assert [a.seq for a in out] == [1, 1] and out[1].duplicate
    assert seqs(tb, tenant, EventFilter()) == [1]


def test_a_reused_key_with_other_content_is_a_conflict(tb: Trailbook, tenant: Tenant) -> None:
    tb.events.ingest(tenant, events([ev(1, idempotency_key="x")]))
    with pytest.raises(Conflict):
        tb.events.ingest(tenant, events([ev(1, idempotency_key="x", description="changed")]))


# -- filters, text and pagination -----------------------------------------------------


@pytest.fixture
def varied(tb: Trailbook, tenant: Tenant) -> Tenant:
    raw = [
        ev(1, action="miner.reboot", category="device", severity="notice",
           actor={"id": "ops-1", "name": "Olga Petrova", "email": "Olga@Farm.example"},
           targets=[{"id": "m-17", "type": "miner", "name": "Rack B4 slot 17"}],
           scope="farm-east", source={"ip": "10.1.2.3"}, request_id="r-1",
           description="Rebooted the miner after a pool change"),
        ev(2, action="miner.pool.change", category="device", result="failure",
           reason="pool unreachable", actor={"id": "cron", "type": "system"},
           targets=[{"id": "m-18", "type": "miner"}], source={"ip": "2001:db8::5"},
           session_id="s-9"),
        ev(3, action="client.bill.update", category="client", actor={"id": "ops-1"},
           targets=[{"id": "c-1", "type": "client", "name": "Acme Hosting"}],
           changes=[{"field": "amount", "old": 10, "new": 12}], scope="billing",
           source={"ip": "10.1.9.9"}, metadata={"invoice": "INV-7731"}),
        ev(4, action="user.login", category="access", severity="critical",
           actor={"id": "u-7", "email": "eve@corp.example"}, source={"ip": "192.0.2.44"}),
    ]
    tb.events.ingest(tenant, events(raw))
    return tenant


CASES: list[tuple[str, EventFilter, list[int]]] = [
    ("everything", EventFilter(), [4, 3, 2, 1]),
    ("since", EventFilter(since_us=T0 + 2_000_000), [4, 3, 2]),
    ("until", EventFilter(until_us=T0 + 2_000_000), [1]),
    ("category", EventFilter(categories=("device",)), [2, 1]),
    ("action", EventFilter(actions=("miner.reboot",)), [1]),
    ("action prefix", EventFilter(action_prefixes=("miner",)), [2, 1]),
    ("action type", EventFilter(action_types=("update",)), [3, 2]),  # change: update
    ("severity", EventFilter(severities=("critical", "notice")), [4, 1]),
    ("result", EventFilter(results=("failure",)), [2]),
    ("actor words", EventFilter(actor="olg petr"), [1]),
    ("actor id", EventFilter(actor_ids=("ops-1",)), [3, 1]),
    ("actor email", EventFilter(actor_emails=("olga@farm.EXAMPLE",)), [1]),
    ("actor type", EventFilter(actor_types=("system",)), [2]),
    ("target id or words", EventFilter(target="m-18"), [2]),
    ("target words", EventFilter(target="acme host"), [3]),
    ("target id", EventFilter(target_ids=("m-17", "c-1")), [3, 1]),
    ("target name", EventFilter(target_names=("rack b4 slot",)), [1]),
    ("target type", EventFilter(target_types=("miner",)), [2, 1]),
    ("scope", EventFilter(scopes=("billing",)), [3]),
    ("ip exact", EventFilter(ips=(ipaddress.ip_network("10.1.2.3/32"),)), [1]),
    ("ip cidr", EventFilter(ips=(ipaddress.ip_network("10.1.0.0/16"),)), [3, 1]),
    ("ip cidr not on a byte", EventFilter(ips=(ipaddress.ip_network("10.1.8.0/21"),)), [3]),
    ("ipv6 network", EventFilter(ips=(ipaddress.ip_network("2001:db8::/32"),)), [2]),
    ("ipv6 finer than indexed", EventFilter(ips=(ipaddress.ip_network("2001:db8::4/126"),)),
     [2]),
    ("ipv6 next to it", EventFilter(ips=(ipaddress.ip_network("2001:db8::/126"),)), []),
    ("request id", EventFilter(request_ids=("r-1",)), [1]),
    ("session id", EventFilter(session_ids=("s-9",)), [2]),
    ("text word", EventFilter(text="unreachable"), [2]),
    ("text words anywhere", EventFilter(text="pool miner"), [2, 1]),  # 2: in its action
    ("text phrase", EventFilter(text='"pool change"'), [2, 1]),
    ("text phrase across fields", EventFilter(text='"unreachable miner"'), []),
    ("text phrase out of order", EventFilter(text='"change pool"'), []),
    ("text in metadata", EventFilter(text="inv 7731"), [3]),
    ("text with accents folded", EventFilter(text="rebooted"), [1]),
    ("fields AND-ed", EventFilter(categories=("device",), results=("failure",)), [2]),
    ("nothing matches", EventFilter(actions=("nope.nothing",)), []),
]


@pytest.mark.parametrize(("name", "flt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_filter(tb: Trailbook, varied: Tenant, name: str, flt: EventFilter,
                expected: list[int]) -> None:
    assert seqs(tb, varied, flt) == expected, name


def test_pagination_walks_every_event_once_newest_first(tb: Trailbook, tenant: Tenant) -> None:
    # Several events share each microsecond, so positions must still be distinct.
    raw = [ev(i // 4) | {"description": f"step {i}"} for i in range(45)]
    tb.events.ingest(tenant, events(raw))
    for flt in (EventFilter(), EventFilter(actions=("user.login",)), EventFilter(text="step")):
        seen: list[int] = []
        cursor = None
        while True:
            page = tb.events.search(tenant, flt, cursor, 10)
            seen += [e.seq for e in page.events]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert sorted(seen, reverse=True) == list(range(45, 0, -1)) == sorted(
            set(seen), reverse=True)


def test_checkpoints_are_signed_and_listed(tb: Trailbook, tenant: Tenant) -> None:
    tb.events.ingest(tenant, events([ev(i) for i in range(150)]))  # every 100 events
    tb.checkpoints.checkpoint_pending()
    listed = tb.integrity.checkpoints(tenant)
    assert [c.seq for c in listed] == [150]
    assert tb.store.latest_checkpoint(tenant.id) == listed[-1]
    report = tb.integrity.verify(tenant)
    assert report.ok and report.checkpoints_checked == 1 and report.events_checked == 150


# -- several writers ------------------------------------------------------------------


def test_writers_on_separate_connections_keep_one_chain(
    tb: Trailbook, tenant: Tenant, data_dir: Path, database_url: str | None
) -> None:
    """Four stores (as four processes would have) append to one tenant at once, with
    events of the same microseconds, so positions collide and must be redone."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    stores = [open_store(settings) for _ in range(4)]
    info = tenant_info(tenant)
    errors: list[BaseException] = []

    def write(store_index: int) -> None:
        try:
            for round_ in range(10):
                batch = events([ev(round_, description=f"w{store_index}") for _ in range(25)])
                prepared = normalize_batch(batch, info, T0, batch=True)
                stores[store_index].append(info, prepared)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    chain = list(tb.store.iter_chain(tenant.id))
    assert [row.seq for row in chain] == list(range(1, 1001))
    assert len({row.pos for row in chain}) == 1000
    assert tb.integrity.verify(tenant).ok


# -- batches sealed ahead of their transaction (bulk ingest) ---------------------------


def prepared(tenant: Tenant, raw: list[dict[str, Any]]) -> list[Any]:
    return normalize_batch(events(raw), tenant_info(tenant), T0 + 10**9, batch=True)


def test_batches_sealed_ahead_are_stored_as_sealed(tb: Trailbook, tenant: Tenant) -> None:
    info = tenant_info(tenant)
    first = tb.store.plan_append(info, prepared(tenant, [ev(i) for i in range(3)]), None)
    second = tb.store.plan_append(info, prepared(tenant, [ev(i) for i in range(3, 5)]), first)
    # Sealed before anything was written: the second onto the head the first leaves.
    assert first.batch is not None and second.batch is not None
    assert second.onto == first.batch.head and first.onto == (0, GENESIS)
    planned = first.batch.answers() + second.batch.answers()
    stored = tb.store.apply_append(first) + tb.store.apply_append(second)
    assert [(a.seq, a.hash) for a in stored] == [(a.seq, a.hash) for a in planned]
    assert [a.seq for a in stored] == [1, 2, 3, 4, 5]
    assert tb.integrity.verify(tenant).ok


def test_a_batch_sealed_ahead_is_sealed_again_after_another_writer(
    tb: Trailbook, tenant: Tenant
) -> None:
    """Another append lands between sealing and writing: the planned batch, and the
    one planned after it, are sealed again in their transactions, after it."""
    info = tenant_info(tenant)
    first = tb.store.plan_append(info, prepared(tenant, [ev(1), ev(2)]), None)
    second = tb.store.plan_append(info, prepared(tenant, [ev(3)]), first)
    [other] = tb.store.append(info, prepared(tenant, [ev(9, description="between")]))
    assert other.seq == 1
    stored = tb.store.apply_append(first) + tb.store.apply_append(second)
    assert [a.seq for a in stored] == [2, 3, 4]
    assert stored[0].previous == other.hash
    third = tb.store.plan_append(info, prepared(tenant, [ev(4)]), second)
    # Planned after a batch that was sealed again: onto the head that one left.
    assert third.onto == (4, stored[-1].hash)
    assert [a.seq for a in tb.store.apply_append(third)] == [5]
    chain = list(tb.store.iter_chain(tenant.id))
    assert [row.seq for row in chain] == [1, 2, 3, 4, 5]
    assert len({row.pos for row in chain}) == 5
    assert tb.integrity.verify(tenant).ok


def test_a_batch_with_idempotency_keys_is_sealed_in_its_transaction(
    tb: Trailbook, tenant: Tenant
) -> None:
    info = tenant_info(tenant)
    [kept] = tb.store.append(info, prepared(tenant, [ev(1, idempotency_key="pay-1")]))
    keyed = tb.store.plan_append(
        info, prepared(tenant, [ev(2), ev(1, idempotency_key="pay-1")]), None)
    after = tb.store.plan_append(info, prepared(tenant, [ev(3)]), keyed)
    # The stored keys are read in the transaction; the next head is not known before.
    assert keyed.batch is None and after.batch is None
    again = tb.store.apply_append(keyed)
    assert [(a.seq, a.duplicate) for a in again] == [(2, False), (1, True)]
    assert again[1].hash == kept.hash
    assert [a.seq for a in tb.store.apply_append(after)] == [3]
    assert tb.integrity.verify(tenant).ok


# -- schema ---------------------------------------------------------------------------


def test_a_newer_database_is_refused(tb: Trailbook, data_dir: Path,
                                     database_url: str | None) -> None:
    current, latest = tb.store.schema_version()
    assert current == latest
    _raw_execute(data_dir, database_url,
                 "INSERT INTO schema_migrations (version, name, applied_at)"
                 f" VALUES ({latest + 1}, '{latest + 1:04d}_from_the_future.sql', 'x')")
    with pytest.raises(StorageError, match=f"schema version {latest + 1}, newer"):
        open_store(load_settings(data_dir=data_dir, database_url=database_url))


def _raw_execute(data_dir: Path, database_url: str | None, sql: str) -> None:
    if database_url:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.encode())
        return
    import sqlite3

    conn = sqlite3.connect(data_dir / "trailbook.db", isolation_level=None)
    try:
        conn.execute(sql)
    finally:
        conn.close()
