"""The Merkle tree as both stores keep it: the nodes written with the events are the
RFC 6962 tree over the events' canonical forms, whatever the batch sizes; roots and
proofs of past sizes come out right; the database refuses to change a node; and a
checkpoint whose signed root does not match the events fails verification."""

from __future__ import annotations

import random
import sqlite3

import msgspec
import psycopg
import pytest

from trailbook.integrity.merkle import MemoryTree, verify_consistency, verify_inclusion
from trailbook.integrity.merkle_store import STORED_LEVEL, leaf_of
from trailbook.integrity.signing import checkpoint_payload
from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.app import Trailbook
from trailbook.store.records import Checkpoint, Tenant


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _ingest(tb: Trailbook, tenant: Tenant, sizes: list[int]) -> None:
    n = 0
    for size in sizes:
        batch = [{"action": "miner.reboot", "actor": {"id": f"u-{n + i}"},
                  "metadata": {"n": n + i}} for i in range(size)]
        tb.events.ingest(tenant, msgspec.convert(batch, list[EventIn]))
        n += size


def _reference(tb: Trailbook, tenant: Tenant) -> MemoryTree:
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    docs = [doc for _, doc, _ in tb.store.chain_links(tenant.id, 0, head.seq)]
    return MemoryTree(docs)


def test_nodes_written_with_the_events_are_the_rfc_tree(tb: Trailbook, tenant: Tenant
                                                        ) -> None:
    rng = random.Random(11)
    _ingest(tb, tenant, [rng.choice([1, 7, 255, 256, 257, 300, 513]) for _ in range(9)])
    other = tb.tenants.create("other")
    _ingest(tb, other, [600])
    reference = _reference(tb, tenant)
    size = reference.size
    stored_positions = [(level, index) for level in range(STORED_LEVEL, size.bit_length())
                        for index in range(size >> level)]
    assert stored_positions  # more than one block
    stored = tb.store.merkle.nodes(tenant.id, stored_positions)
    assert stored == {p: reference.node(*p) for p in stored_positions}
    for past in (1, 255, 256, 257, size // 2, size):
        assert tb.store.merkle.root(tenant.id, past) == reference.root(past)
    for index in rng.sample(range(size), 20):
        proof = tb.store.merkle.inclusion(tenant.id, index, size)
        assert proof == reference.inclusion_proof(index, size)
        assert verify_inclusion(reference.node(0, index), index, size, proof, reference.root())
    old = rng.randrange(1, size)
    proof = tb.store.merkle.consistency(tenant.id, old, size)
    assert verify_consistency(old, size, reference.root(old), reference.root(), proof)
    # Each tenant has its own tree.
    assert tb.store.merkle.root(other.id, 600) == _reference(tb, other).root()


def test_a_tree_missing_its_nodes_is_rebuilt_from_the_events(tb: Trailbook, tenant: Tenant,
                                                             database_url: str | None) -> None:
    _ingest(tb, tenant, [700])
    reference = _reference(tb, tenant)
    # As for a trail stored before the tree existed: no nodes at all.
    _raw(tb, database_url, "DROP TRIGGER IF EXISTS merkle_nodes_append_only_delete"
         if database_url is None else "ALTER TABLE merkle_nodes DISABLE TRIGGER USER")
    _raw(tb, database_url, "DELETE FROM merkle_nodes")
    assert tb.store.merkle.root(tenant.id, 700) == reference.root(700)
    _ingest(tb, tenant, [400])  # appending resumes from the rebuilt frontier
    assert tb.store.merkle.root(tenant.id, 1100) == _reference(tb, tenant).root(1100)


def _raw(tb: Trailbook, database_url: str | None, sql: str) -> None:
    if database_url is not None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.encode())
        return
    conn = sqlite3.connect(tb.store.path, isolation_level=None)  # type: ignore[attr-defined]
    try:
        conn.execute(sql)
    finally:
        conn.close()


def test_the_database_refuses_to_change_a_node(tb: Trailbook, tenant: Tenant,
                                               database_url: str | None) -> None:
    _ingest(tb, tenant, [256])
    refused = psycopg.errors.InsufficientPrivilege if database_url else sqlite3.IntegrityError
    for sql in ("UPDATE merkle_nodes SET hash = hash", "DELETE FROM merkle_nodes"):
        with pytest.raises(refused, match="append-only"):
            _raw(tb, database_url, sql)


def test_a_checkpoint_with_a_root_the_events_do_not_make_fails(tb: Trailbook,
                                                               tenant: Tenant) -> None:
    _ingest(tb, tenant, [300])
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    signed = tb.checkpoints.sign(tenant.name, head)
    assert signed is not None and signed.tree_root == _reference(tb, tenant).root()
    assert tb.integrity.verify(tenant).ok
    # A checkpoint properly signed over a root that is not the events' (as if the
    # events had been rewritten after signing and the chain hashes with them).
    _ingest(tb, tenant, [5])
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    wrong = leaf_of(b"not the tree")
    created = format_us(now_us())
    signer = tb.signer
    forged = Checkpoint(tenant.id, head.seq, head.hash, created, signer.key_id,
                        signer.sign(checkpoint_payload(tenant.name, head.seq, head.hash,
                                                       created, signer.key_id, wrong)), wrong)
    tb.store.add_checkpoint(forged)
    report = tb.integrity.verify(tenant)
    assert not report.ok
    assert report.first_problem is not None and "Merkle root" in report.first_problem.detail
