"""Bulk ingest of JSON lines: validation in worker processes, storage in order."""

from __future__ import annotations

import orjson
import pytest

from conftest import minimal_event
from trailbook.errors import ValidationFailed
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant


def lines(count: int, start: int = 0) -> list[bytes]:
    return [orjson.dumps(minimal_event(description=f"bulk event {start + n}"))
            for n in range(count)]


def batches_of(items: list[bytes], size: int) -> list[list[bytes]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def descriptions(tb: Trailbook, tenant: Tenant) -> list[str]:
    return [orjson.loads(row.doc)["description"] for row in tb.store.iter_chain(tenant.id)]


@pytest.mark.parametrize("processes", [0, 2])
def test_batches_are_stored_in_order_and_the_chain_verifies(
    tb: Trailbook, tenant: Tenant, processes: int
) -> None:
    sent = lines(700)
    result = tb.events.ingest_lines(tenant, batches_of(sent, 100), processes=processes)
    assert (result.stored, result.batches, result.invalid) == (700, 7, 0)
    assert descriptions(tb, tenant) == [f"bulk event {n}" for n in range(700)]
    report = tb.integrity.verify(tenant)
    assert report.ok and report.last_seq == 700


def test_an_invalid_line_from_a_worker_stops_before_its_batch(
    tb: Trailbook, tenant: Tenant
) -> None:
    sent = lines(300)
    sent[250] = orjson.dumps(minimal_event(action="Not An Action"))
    with pytest.raises(ValidationFailed) as caught:
        tb.events.ingest_lines(tenant, batches_of(sent, 100), processes=2)
    assert caught.value.details[0].field == "action"
    # The batches before the bad one are stored whole; nothing of its own batch.
    assert len(descriptions(tb, tenant)) == 200


def test_skip_invalid_reports_each_bad_line_and_stores_the_rest(
    tb: Trailbook, tenant: Tenant
) -> None:
    sent = lines(300)
    sent[2] = orjson.dumps(minimal_event(action="Not An Action"))
    sent[5] = b'{"action": "user.login"'  # cut short
    sent[150] = orjson.dumps(minimal_event(seq=3))  # a server field
    bad: list[tuple[int, int, str]] = []
    result = tb.events.ingest_lines(
        tenant, batches_of(sent, 100), processes=2, skip_invalid=True,
        on_invalid=lambda batch, index, exc: bad.append((batch, index, exc.code)),
    )
    # In line order within a batch, whether the line failed decoding or the rules.
    assert bad == [(0, 2, "validation_failed"), (0, 5, "malformed_request"),
                   (1, 50, "validation_failed")]
    assert (result.stored, result.invalid) == (297, 3)
    stored = descriptions(tb, tenant)
    assert not {"bulk event 2", "bulk event 5", "bulk event 150"} & set(stored)
    assert tb.integrity.verify(tenant).ok


def test_a_long_stream_is_checkpointed_without_reading_back(
    tb: Trailbook, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One writer sealed everything since the last checkpoint: it signs what it
    sealed without re-reading the stored events."""
    tb.checkpoints.every = 250
    read_back: list[int] = []
    original = tb.store.chain_links

    def spy(tenant_id: int, after_seq: int, until_seq: int):  # type: ignore[no-untyped-def]
        read_back.append(after_seq)
        return original(tenant_id, after_seq, until_seq)

    monkeypatch.setattr(tb.store, "chain_links", spy)
    tb.events.ingest_lines(tenant, batches_of(lines(1000), 100), processes=2)
    # One transaction (see below), checkpointed every 250 events all the same.
    assert [c.seq for c in tb.store.list_checkpoints(tenant.id)] == [250, 500, 750, 1000]
    assert read_back == []
    monkeypatch.undo()
    assert tb.integrity.verify(tenant).ok


def test_batches_are_stored_a_few_at_a_time(
    tb: Trailbook, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    original = tb.store.apply_append

    def spy(plan):  # type: ignore[no-untyped-def]
        sizes.append(len(plan.events))
        return original(plan)

    monkeypatch.setattr(tb.store, "apply_append", spy)
    monkeypatch.setattr("trailbook.service.events.BULK_TRANSACTION", 300)
    reported: list[tuple[int, int]] = []
    result = tb.events.ingest_lines(
        tenant, batches_of(lines(1000), 100), processes=0,
        on_stored=lambda number, appended: reported.append((number, len(appended))))
    assert sizes == [300, 300, 300, 100]  # whole batches, until a transaction is full
    assert reported == [(n, 100) for n in range(10)]  # each batch still reported
    assert (result.stored, result.batches) == (1000, 10)
    assert descriptions(tb, tenant) == [f"bulk event {n}" for n in range(1000)]
    # The conftest's checkpoint_every_events is 100: a checkpoint every 100 events,
    # though each transaction held 300.
    assert [c.seq for c in tb.store.list_checkpoints(tenant.id)] == list(range(100, 1001, 100))
    assert tb.integrity.verify(tenant).ok
