"""The annotations contract: comments and tags on events (``store.annotations``), and
tag search through every store query (search, count, newest documents, histogram),
run against SQLite and PostgreSQL alike. The database itself refuses to change or
remove an annotation."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import orjson
import psycopg
import pytest
import uuid_utils

from trailbook.errors import Conflict
from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.annotations import AnnotationStore
from trailbook.store.records import Annotation, StoredEvent, Tenant

T0 = 1_780_000_000_000_000  # 2026-05-28, microseconds
MINUTE = 60_000_000
BUDGET = 10_000  # ms: generous, these are tiny trails


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def notes(tb: Trailbook) -> AnnotationStore:
    return tb.store.annotations


def ingest(tb: Trailbook, tenant: Tenant, count: int, **fields: Any) -> list[StoredEvent]:
    """``count`` events a minute apart from T0; answers them oldest first."""
    raw = [{"action": "miner.reboot" if i % 2 else "user.login", "actor": {"id": f"u-{i}"},
            "category": "device" if i % 2 else "access",
            "description": "rebooted rack b4" if i % 3 == 0 else "routine",
            "occurred_at": format_us(T0 + i * MINUTE), **fields} for i in range(count)]
    tb.events.ingest(tenant, msgspec.convert(raw, list[EventIn]))
    found = tb.store.search(tenant.id, EventFilter(), None, 500)
    return sorted(found, key=lambda e: e.pos)


def event_id(event: StoredEvent) -> str:
    return str(orjson.loads(event.doc)["id"])


def note(tenant: Tenant, event: StoredEvent, kind: str, body: str, *,
         author: int = 7, created: str = "2026-05-28T10:00:00.000000Z") -> Annotation:
    return Annotation(str(uuid_utils.uuid7()), tenant.id, event.pos, event_id(event), kind,
                      body, author, "ana@acme.example", "Ana", created)


def tag(notes: AnnotationStore, tenant: Tenant, event: StoredEvent, body: str) -> None:
    assert notes.add(note(tenant, event, "tag", body))[1]


def seqs(found: list[StoredEvent]) -> list[int]:
    return [e.seq for e in found]


# -- records --------------------------------------------------------------------------


def test_annotations_read_back_oldest_first_within_their_tenant(
        tb: Trailbook, tenant: Tenant, notes: AnnotationStore) -> None:
    other = tb.tenants.create("other")
    first, second = ingest(tb, tenant, 2)
    theirs = ingest(tb, other, 1)[0]
    later = note(tenant, first, "comment", "Checked with the farm: planned reboot.",
                 created="2026-05-28T10:00:02.000000Z")
    earlier = note(tenant, first, "tag", "incident-42", created="2026-05-28T10:00:01.000000Z")
    assert notes.add(later) == (later, True)
    assert notes.add(earlier) == (earlier, True)
    notes.add(note(tenant, second, "tag", "vip"))
    notes.add(note(other, theirs, "tag", "vip"))
    assert notes.for_event(tenant.id, first.pos) == [earlier, later]
    assert [a.body for a in notes.for_event(tenant.id, second.pos)] == ["vip"]
    assert [a.body for a in notes.for_event(other.id, theirs.pos)] == ["vip"]
    assert notes.tags_of(tenant.id, [first.pos, second.pos, 12345]) == {
        first.pos: frozenset({"incident-42"}), second.pos: frozenset({"vip"})}
    assert notes.tags_of(tenant.id, []) == {}


def test_a_tag_is_stored_once_per_event_but_comments_repeat(
        tb: Trailbook, tenant: Tenant, notes: AnnotationStore) -> None:
    event, other_event = ingest(tb, tenant, 2)
    stored = note(tenant, event, "tag", "vip")
    assert notes.add(stored) == (stored, True)
    again = note(tenant, event, "tag", "vip", author=8)
    assert notes.add(again) == (stored, False)  # the first one, untouched
    assert notes.add(note(tenant, other_event, "tag", "vip"))[1]  # another event: stored
    for _ in range(2):
        assert notes.add(note(tenant, event, "comment", "vip"))[1]
    assert [(a.kind, a.body) for a in notes.for_event(tenant.id, event.pos)] == [
        ("tag", "vip"), ("comment", "vip"), ("comment", "vip")]
    with pytest.raises(Conflict):  # the same id twice is not a repeat of a tag
        notes.add(notes.for_event(tenant.id, event.pos)[1])


def test_a_long_comment_is_stored_whole(tb: Trailbook, tenant: Tenant,
                                        notes: AnnotationStore) -> None:
    [event] = ingest(tb, tenant, 1)
    text = "Ünïcode ✓ " * 400  # 4,000 characters, well past a B-tree entry in bytes
    notes.add(note(tenant, event, "comment", text))
    assert notes.for_event(tenant.id, event.pos)[0].body == text


def test_the_tenants_annotations_come_in_pages_in_id_order(
        tb: Trailbook, tenant: Tenant, notes: AnnotationStore) -> None:
    events = ingest(tb, tenant, 5)
    made = [note(tenant, e, "tag", f"t{i}") for i, e in enumerate(events)]
    for a in reversed(made):
        notes.add(a)
    first = notes.for_tenant(tenant.id, "", limit=3)
    rest = notes.for_tenant(tenant.id, first[-1].id, limit=3)
    assert first + rest == sorted(made, key=lambda a: a.id)
    assert notes.for_tenant(tenant.id, rest[-1].id) == []


def _raw(tb: Trailbook, database_url: str | None, sql: str) -> None:
    if database_url:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.encode())
        return
    path: Path = tb.store.path  # type: ignore[attr-defined]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(sql)
    finally:
        conn.close()


@pytest.mark.parametrize("sql", [
    "UPDATE annotations SET body = 'edited'",
    "DELETE FROM annotations",
    "UPDATE annotations SET event_pos = event_pos + 1",
])
def test_the_database_refuses_to_change_or_remove_annotations(
        tb: Trailbook, tenant: Tenant, notes: AnnotationStore, database_url: str | None,
        sql: str) -> None:
    [event] = ingest(tb, tenant, 1)
    made = note(tenant, event, "comment", "original")
    notes.add(made)
    refused = psycopg.errors.InsufficientPrivilege if database_url else sqlite3.IntegrityError
    with pytest.raises(refused, match="annotations are append-only"):
        _raw(tb, database_url, sql)
    assert notes.for_event(tenant.id, event.pos) == [made]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # SQLite has no TRUNCATE
def test_postgres_refuses_truncating_annotations(tb: Trailbook, tenant: Tenant,
                                                 database_url: str | None) -> None:
    assert database_url is not None
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        _raw(tb, database_url, "TRUNCATE annotations")


# -- tag search -----------------------------------------------------------------------


@pytest.fixture
def tagged(tb: Trailbook, tenant: Tenant, notes: AnnotationStore) -> list[StoredEvent]:
    """Ten events (seq 1-10, a minute apart). Tags: vip on 2, 5, 8; incident on 5, 6;
    a comment saying "vip" on 3 (not a tag); another tenant tags its own event vip."""
    events = ingest(tb, tenant, 10)
    for index in (1, 4, 7):
        tag(notes, tenant, events[index], "vip")
    for index in (4, 5):
        tag(notes, tenant, events[index], "incident")
    notes.add(note(tenant, events[2], "comment", "vip"))
    other = tb.tenants.create("other")
    tag(notes, other, ingest(tb, other, 1)[0], "vip")
    return events


FILTERS: list[tuple[EventFilter, list[int]]] = [
    # newest first, by seq
    (EventFilter(tags=("vip",)), [8, 5, 2]),
    (EventFilter(tags=("vip", "incident")), [8, 6, 5, 2]),
    (EventFilter(tags=("nobody-uses-this",)), []),
    (EventFilter(exclude=EventFilter(tags=("vip",))), [10, 9, 7, 6, 4, 3, 1]),
    (EventFilter(tags=("incident",), exclude=EventFilter(tags=("vip",))), [6]),
    # with the full-text index: category, words, an excluded category
    (EventFilter(tags=("vip", "incident"), categories=("device",)), [8, 6, 2]),
    (EventFilter(tags=("vip",), text="rack"), []),
    (EventFilter(tags=("vip", "incident"), text="rebooted"), []),
    (EventFilter(tags=("incident",), text="routine"), [6, 5]),
    (EventFilter(categories=("device",), exclude=EventFilter(tags=("vip",))), [10, 6, 4]),
    (EventFilter(exclude=EventFilter(tags=("incident",), categories=("access",))),
     [10, 8, 4, 2]),
    # with a time window
    (EventFilter(tags=("vip",), since_us=T0 + 3 * MINUTE, until_us=T0 + 7 * MINUTE), [5]),
]


@pytest.mark.parametrize(("flt", "expected"), FILTERS, ids=lambda v: str(v)[:60])
def test_tags_filter_every_store_query(tb: Trailbook, tenant: Tenant,
                                       tagged: list[StoredEvent], flt: EventFilter,
                                       expected: list[int]) -> None:
    store = tb.store
    assert seqs(store.search(tenant.id, flt, None, 100)) == expected
    counted = store.count_matches(tenant.id, flt, 1000, BUDGET)
    assert counted is not None and (counted.count, counted.capped) == (len(expected), False)
    docs = store.newest_docs(tenant.id, flt, 100, BUDGET)
    assert docs is not None
    assert [orjson.loads(d)["seq"] for d in docs] == expected
    buckets = store.histogram_counts(tenant.id, flt, T0, 2 * MINUTE, BUDGET)
    assert buckets is not None
    by_bucket: dict[int, int] = {}
    for seq in expected:
        start = T0 + (seq - 1) // 2 * 2 * MINUTE
        by_bucket[start] = by_bucket.get(start, 0) + 1
    assert dict(buckets) == by_bucket


def test_tag_search_pages_with_the_cursor(tb: Trailbook, tenant: Tenant,
                                          tagged: list[StoredEvent]) -> None:
    flt = EventFilter(tags=("vip", "incident"))
    first = tb.events.search(tenant, flt, None, 3)
    assert seqs(first.events) == [8, 6, 5] and first.next_cursor
    rest = tb.events.search(tenant, flt, first.next_cursor, 3)
    assert seqs(rest.events) == [2] and rest.next_cursor is None


def test_a_count_past_its_cap_says_so_with_tags(tb: Trailbook, tenant: Tenant,
                                               tagged: list[StoredEvent]) -> None:
    counted = tb.store.count_matches(tenant.id, EventFilter(tags=("vip", "incident")), 2,
                                     BUDGET)
    assert counted is not None and (counted.count, counted.capped) == (2, True)
    assert counted.oldest_pos == tagged[5].pos  # seq 6, the second newest
