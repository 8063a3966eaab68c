"""Bulk ingest's storing loop: each batch sealed while the one before it is written,
in order, and nothing written after a failure."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from trailbook.errors import ValidationFailed
from trailbook.integrity.chain import GENESIS
from trailbook.model.normalize import TenantInfo
from trailbook.service.pipeline import store_batches
from trailbook.service.validation_pool import PreparedBatch
from trailbook.store.records import Appended
from trailbook.store.sealing import AppendPlan

INFO = TenantInfo(1, "acme", frozenset({"auth"}))


def batch(*events: Any, errors: list[tuple[int, Any]] | None = None) -> PreparedBatch:
    errors = errors or []
    return PreparedBatch(list(events), errors, len(events) + len(errors))


class FakeStore:
    """Records the order of plans and writes; a write can be made to fail or wait."""

    def __init__(self) -> None:
        self.log: list[tuple[str, list[Any]]] = []
        self.fail_on: list[Any] | None = None
        self.lock = threading.Lock()

    def plan(self, events: list[Any], after: AppendPlan | None) -> AppendPlan:
        with self.lock:
            self.log.append(("plan", events))
        return AppendPlan(INFO, events, (0, GENESIS))

    def apply(self, plan: AppendPlan) -> list[Appended]:
        if plan.events == self.fail_on:
            raise RuntimeError("disk full")
        with self.lock:
            self.log.append(("write", plan.events))
        return [Appended(str(e), 0, b"", False) for e in plan.events]

    def written(self) -> list[list[Any]]:
        return [events for kind, events in self.log if kind == "write"]


def test_batches_are_written_in_order_and_reported_in_order() -> None:
    store = FakeStore()
    stored: list[tuple[int, list[str]]] = []
    result = store_batches(
        [batch(1, 2), batch(3), batch(4, 5, 6)], store.plan, store.apply, skip_invalid=False,
        on_stored=lambda n, appended: stored.append((n, [a.id for a in appended])))
    assert store.written() == [[1, 2], [3], [4, 5, 6]]
    assert stored == [(0, ["1", "2"]), (1, ["3"]), (2, ["4", "5", "6"])]
    assert (result.stored, result.batches) == (6, 3)


def test_the_next_batch_is_sealed_while_one_is_written() -> None:
    """The first write waits until the second batch has been sealed: a loop that
    sealed only after each write ended would never let it go on."""
    store = FakeStore()
    second_sealed = threading.Event()
    plan, apply = store.plan, store.apply

    def sealing(events: list[Any], after: AppendPlan | None) -> AppendPlan:
        planned = plan(events, after)
        if events == [2]:
            second_sealed.set()
        return planned

    def writing(planned: AppendPlan) -> list[Appended]:
        if planned.events == [1]:
            assert second_sealed.wait(30), "the second batch was not sealed meanwhile"
        return apply(planned)

    store_batches([batch(1), batch(2)], sealing, writing, skip_invalid=False)
    assert store.log == [("plan", [1]), ("plan", [2]), ("write", [1]), ("write", [2])]


def test_a_failed_write_stops_the_stream_after_the_batches_before_it() -> None:
    store = FakeStore()
    store.fail_on = [3]
    stored: list[int] = []
    with pytest.raises(RuntimeError, match="disk full"):
        store_batches([batch(1), batch(2), batch(3), batch(4), batch(5)], store.plan,
                      store.apply, skip_invalid=False,
                      on_stored=lambda n, appended: stored.append(n))
    assert store.written() == [[1], [2]]
    assert stored == [0, 1]


def test_an_invalid_batch_raises_after_the_one_being_written_is_stored() -> None:
    store = FakeStore()
    bad = ValidationFailed("the event is not valid")
    stored: list[int] = []
    with pytest.raises(ValidationFailed):
        store_batches([batch(1), batch(2, errors=[(0, bad)]), batch(3)], store.plan,
                      store.apply, skip_invalid=False,
                      on_stored=lambda n, appended: stored.append(n))
    assert store.written() == [[1]] and stored == [0]


def test_skip_invalid_writes_the_rest_of_each_batch() -> None:
    store = FakeStore()
    bad = ValidationFailed("the event is not valid")
    seen: list[tuple[int, int]] = []
    result = store_batches(
        [batch(1, errors=[(1, bad)]), batch(errors=[(0, bad)]), batch(3)], store.plan,
        store.apply, skip_invalid=True, on_invalid=lambda n, i, exc: seen.append((n, i)))
    assert store.written() == [[1], [3]]
    assert seen == [(0, 1), (1, 0)]
    assert (result.stored, result.invalid, result.batches) == (2, 2, 3)


def test_batches_share_a_transaction_until_it_holds_enough_events() -> None:
    store = FakeStore()
    stored: list[tuple[int, list[str]]] = []
    result = store_batches(
        [batch(1, 2), batch(3), batch(4, 5, 6), batch(7), batch(8)], store.plan, store.apply,
        skip_invalid=False, transaction_events=3,
        on_stored=lambda n, appended: stored.append((n, [a.id for a in appended])))
    assert store.written() == [[1, 2, 3], [4, 5, 6], [7, 8]]
    # Each batch is still reported on its own, with its own answers, in order.
    assert stored == [(0, ["1", "2"]), (1, ["3"]), (2, ["4", "5", "6"]), (3, ["7"]),
                      (4, ["8"])]
    assert (result.stored, result.batches) == (8, 5)


def test_an_invalid_batch_raises_after_the_batches_before_it_are_stored_together() -> None:
    store = FakeStore()
    bad = ValidationFailed("the event is not valid")
    stored: list[int] = []
    with pytest.raises(ValidationFailed):
        store_batches([batch(1), batch(2), batch(3, errors=[(1, bad)]), batch(4)],
                      store.plan, store.apply, skip_invalid=False, transaction_events=10,
                      on_stored=lambda n, appended: stored.append(n))
    assert store.written() == [[1, 2]] and stored == [0, 1]


def test_a_failed_transaction_stores_none_of_its_batches_and_nothing_after() -> None:
    store = FakeStore()
    store.fail_on = [3, 4]
    stored: list[int] = []
    with pytest.raises(RuntimeError, match="disk full"):
        store_batches([batch(1), batch(2), batch(3), batch(4), batch(5), batch(6)],
                      store.plan, store.apply, skip_invalid=False, transaction_events=2,
                      on_stored=lambda n, appended: stored.append(n))
    assert store.written() == [[1, 2]]
    assert stored == [0, 1]


def test_skip_invalid_groups_what_is_left_of_each_batch() -> None:
    store = FakeStore()
    bad = ValidationFailed("the event is not valid")
    stored: list[tuple[int, int]] = []
    result = store_batches(
        [batch(1, errors=[(1, bad)]), batch(errors=[(0, bad)]), batch(3, 4)], store.plan,
        store.apply, skip_invalid=True, transaction_events=100,
        on_stored=lambda n, appended: stored.append((n, len(appended))))
    assert store.written() == [[1, 3, 4]]
    assert stored == [(0, 1), (2, 2)]
    assert (result.stored, result.invalid, result.batches) == (3, 2, 3)
