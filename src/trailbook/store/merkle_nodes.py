"""The stored part of each tenant's Merkle tree (``merkle_nodes``), and the events'
canonical bytes as its leaves: one SQL text for both backends, run through their
``SqlRunner`` adapters (see ``trailbook.store.accounts``). The tree itself (which
nodes exist, how roots and proofs are made) is ``trailbook.integrity.merkle_store``.

Appends grow the tree inside their own transaction, through a runner over that
transaction's connection (``TransactionRunner`` of each backend)."""

from __future__ import annotations

from trailbook.integrity.merkle import Node
from trailbook.integrity.merkle_store import (
    leaf_of,
    nodes_to_store,
    prove_consistency,
    prove_inclusion,
    tree_root,
)
from trailbook.store.accounts import SqlRunner

_CHUNK = 200  # positions or rows per statement


def _bytes(doc: object) -> bytes:
    return doc.encode() if isinstance(doc, str) else bytes(doc)  # type: ignore[call-overload]


class MerkleNodeStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    # -- the two readers the tree needs --------------------------------------------

    def leaves(self, tenant_id: int, start: int, end: int) -> list[bytes]:
        """Leaf hashes of leaf indexes [start, end): the events with seq start+1..end."""
        if end <= start:
            return []
        rows = self._run.read(
            "SELECT doc FROM events WHERE tenant_id = ? AND seq > ? AND seq <= ?"
            " ORDER BY seq", (tenant_id, start, end))
        if len(rows) == end - start:
            return [leaf_of(_bytes(r[0])) for r in rows]
        # Some were removed by retention, which kept their leaves: merge by seq.
        kept = self._run.read(
            "SELECT seq, doc FROM events WHERE tenant_id = ? AND seq > ? AND seq <= ?",
            (tenant_id, start, end))
        purged = self._run.read(
            "SELECT seq, leaf FROM purged_events WHERE tenant_id = ? AND seq > ?"
            " AND seq <= ?", (tenant_id, start, end))
        by_seq = {int(r[0]): leaf_of(_bytes(r[1])) for r in kept}
        by_seq.update((int(r[0]), bytes(r[1])) for r in purged)
        out = []
        for seq in range(start + 1, end + 1):
            leaf = by_seq.get(seq)
            if leaf is None:
                break
            out.append(leaf)
        return out

    def nodes(self, tenant_id: int, positions: list[tuple[int, int]]
              ) -> dict[tuple[int, int], bytes]:
        found: dict[tuple[int, int], bytes] = {}
        for at in range(0, len(positions), _CHUNK):
            chunk = positions[at:at + _CHUNK]
            pairs = " OR ".join("(level = ? AND idx = ?)" for _ in chunk)
            rows = self._run.read(
                f"SELECT level, idx, hash FROM merkle_nodes WHERE tenant_id = ? AND ({pairs})",
                (tenant_id, *[v for p in chunk for v in p]))
            found.update({(int(r[0]), int(r[1])): bytes(r[2]) for r in rows})
        return found

    def add(self, tenant_id: int, nodes: list[Node]) -> None:
        """Store ``nodes``; one already stored is left as it is."""
        for at in range(0, len(nodes), _CHUNK):
            chunk = nodes[at:at + _CHUNK]
            values = ", ".join("(?, ?, ?, ?)" for _ in chunk)
            self._run.write(
                f"INSERT INTO merkle_nodes (tenant_id, level, idx, hash) VALUES {values}"
                " ON CONFLICT DO NOTHING",
                tuple(v for level, index, h in chunk for v in (tenant_id, level, index, h)))

    # -- growing, roots and proofs ---------------------------------------------------

    def grow(self, tenant_id: int, old_size: int, canonicals: list[bytes],
             leaves: list[bytes] | None = None) -> None:
        """After the events with seq old_size+1.. (``canonicals``, in seq order) were
        written: store the nodes they complete (nothing until a 256-event block fills).
        ``leaves``, when given, are their leaf hashes, made ahead."""
        new_size = old_size + len(canonicals)
        if new_size // 256 == old_size // 256:
            return
        made = nodes_to_store(
            old_size, leaves if leaves is not None else [leaf_of(c) for c in canonicals],
            lambda a, b: self.leaves(tenant_id, a, b),
            lambda wanted: self.nodes(tenant_id, wanted))
        self.add(tenant_id, made)

    def root(self, tenant_id: int, size: int, *, keep: bool = True) -> bytes:
        """MTH of the tenant's first ``size`` events. Stored nodes found missing on the
        way are computed from the events, and stored unless ``keep`` is false (a
        read-only caller)."""
        found, computed = tree_root(size, lambda a, b: self.leaves(tenant_id, a, b),
                                    lambda wanted: self.nodes(tenant_id, wanted))
        if keep:
            self.add(tenant_id, computed)
        return found

    def inclusion(self, tenant_id: int, index: int, size: int) -> list[bytes]:
        proof, computed = prove_inclusion(index, size,
                                          lambda a, b: self.leaves(tenant_id, a, b),
                                          lambda wanted: self.nodes(tenant_id, wanted))
        self.add(tenant_id, computed)
        return proof

    def consistency(self, tenant_id: int, old_size: int, new_size: int) -> list[bytes]:
        proof, computed = prove_consistency(old_size, new_size,
                                            lambda a, b: self.leaves(tenant_id, a, b),
                                            lambda wanted: self.nodes(tenant_id, wanted))
        self.add(tenant_id, computed)
        return proof
