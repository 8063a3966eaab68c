"""Verifying a trail that grows while it is read (a running server appends its own
events, or clients keep sending): the events added meanwhile are not taken for a
chain head moved back, while a head really moved back is still found."""

from __future__ import annotations

from collections.abc import Iterator

from trailbook.integrity.verify import verify_chain
from trailbook.model.event import convert_event
from trailbook.service.app import Trailbook
from trailbook.store.records import ChainHead, ChainRow, Tenant


def _ingest(tb: Trailbook, tenant: Tenant, count: int, start: int = 0) -> None:
    tb.events.ingest(tenant, [convert_event({"action": f"miner.reboot.{i}",
                                             "actor": {"id": "u-1"}})
                              for i in range(start, start + count)])


def test_events_appended_while_verifying_are_not_a_problem(tb: Trailbook,
                                                           tenant: Tenant) -> None:
    _ingest(tb, tenant, 20)
    store = tb.store
    checkpoints = store.list_checkpoints(tenant.id)
    head = store.chain_head(tenant.id)
    assert head is not None

    def rows() -> Iterator[ChainRow]:
        for row in store.iter_chain(tenant.id):
            if row.seq == 10:  # more events arrive half way through the read
                _ingest(tb, tenant, 7, start=100)
            yield row

    report = verify_chain(tenant.name, rows(), head, checkpoints,
                          tb.signer.verification_keys(),
                          head_after=lambda: store.chain_head(tenant.id))
    assert report.ok, report.problems
    assert report.last_seq == 27
    # Without the second look at the head, the same read is a head moved back.
    again = verify_chain(tenant.name, store.iter_chain(tenant.id), head, checkpoints,
                         tb.signer.verification_keys())
    assert not again.ok and "moved back" in again.problems[0].detail
    assert tb.integrity.verify(tenant).ok


def test_a_head_moved_back_is_still_found(tb: Trailbook, tenant: Tenant) -> None:
    _ingest(tb, tenant, 12)
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    earlier = next(r for r in tb.store.iter_chain(tenant.id) if r.seq == 9)
    moved = ChainHead(tenant.id, 9, earlier.hash)
    report = verify_chain(tenant.name, tb.store.iter_chain(tenant.id), moved,
                          tb.store.list_checkpoints(tenant.id),
                          tb.signer.verification_keys(), head_after=lambda: moved)
    assert not report.ok
    assert report.problems[0].seq == 10 and "moved back" in report.problems[0].detail
