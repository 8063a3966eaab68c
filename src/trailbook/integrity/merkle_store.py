"""The Merkle tree of a tenant's chain as the stores keep it.

Leaf ``i`` is the event with seq ``i + 1``, and its data is the event's canonical form
(the bytes its chain hash covers): ``leaf_hash = SHA-256(0x00 || canonical)``.

Only nodes from level ``STORED_LEVEL`` up are stored: one row per 256 events, written
in the same transaction as the events. A node below that level is recomputed from the
events of its 256-event block (one range read) when a root or a proof needs it. A
stored node that is missing (a trail made before the tree existed) is computed from
its children, and given back to be stored, so the tree is a cache that can always be
rebuilt from the events, and never the other way round.

No SQL here: a store hands in two readers, ``LeafReader`` (the leaf hashes of a range
of leaf indexes) and ``NodeReader`` (stored nodes by position)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from hashlib import sha256

from trailbook.integrity.merkle import (
    Node,
    append_leaves,
    consistency_proof,
    consistency_proof_nodes,
    frontier_at,
    frontier_positions,
    inclusion_proof,
    inclusion_proof_nodes,
    node_hash,
    root,
)

STORED_LEVEL = 8
BLOCK = 1 << STORED_LEVEL

# Leaf hashes of leaf indexes [start, end), in order (fewer if the chain is shorter).
LeafReader = Callable[[int, int], list[bytes]]
# The stored nodes among the wanted positions ((level, index) -> hash).
NodeReader = Callable[[list[tuple[int, int]]], dict[tuple[int, int], bytes]]


def leaf_of(canonical: bytes) -> bytes:
    """The leaf hash of an event: SHA-256(0x00 || its canonical form)."""
    return sha256(b"\x00" + canonical).digest()


class StoredTree:
    """A ``NodeSource`` over a store's nodes and events, for a tree of ``size`` leaves.

    Nodes it had to compute at or above ``STORED_LEVEL`` are kept in ``computed``, for
    the store to write."""

    def __init__(self, size: int, leaves: LeafReader, nodes: NodeReader) -> None:
        self.size = size
        self._leaves = leaves
        self._nodes = nodes
        self._blocks: dict[int, list[bytes]] = {}
        self._known: dict[tuple[int, int], bytes] = {}
        self.computed: dict[tuple[int, int], bytes] = {}

    def prefetch(self, positions: Iterable[tuple[int, int]]) -> None:
        """Read the stored nodes among ``positions`` in one go."""
        wanted = [p for p in positions if p[0] >= STORED_LEVEL and p not in self._known]
        if wanted:
            self._known.update(self._nodes(wanted))

    def node(self, level: int, index: int) -> bytes:
        if (index + 1) << level > self.size:
            raise LookupError(f"node ({level}, {index}) is not complete at size {self.size}")
        if level < STORED_LEVEL:
            return self._below(level, index)
        key = (level, index)
        found = self._known.get(key)
        if found is None:
            found = self._nodes([key]).get(key)
        if found is None:
            if level == STORED_LEVEL:
                found = _perfect_root(self._block(index))
            else:
                found = node_hash(self.node(level - 1, 2 * index),
                                  self.node(level - 1, 2 * index + 1))
            self.computed[key] = found
        self._known[key] = found
        return found

    def _block(self, block: int) -> list[bytes]:
        leaves = self._blocks.get(block)
        if leaves is None:
            start = block * BLOCK
            leaves = self._leaves(start, min(start + BLOCK, self.size))
            self._blocks[block] = leaves
        return leaves

    def _below(self, level: int, index: int) -> bytes:
        first = index << level
        block = first >> STORED_LEVEL
        offset = first - block * BLOCK
        leaves = self._block(block)[offset:offset + (1 << level)]
        if len(leaves) != 1 << level:
            raise LookupError(f"leaves {first}..{first + (1 << level) - 1} are not all stored")
        return _perfect_root(leaves)


def _perfect_root(leaves: list[bytes]) -> bytes:
    """MTH of a power-of-two number of leaf hashes, a level at a time (the hot path of
    growing the tree: one call per 256 events)."""
    if not leaves or len(leaves) & (len(leaves) - 1):
        raise LookupError(f"{len(leaves)} leaves do not make a complete subtree")
    level = leaves
    while len(level) > 1:
        level = [sha256(b"\x01" + left + right).digest()
                 for left, right in zip(level[::2], level[1::2], strict=True)]
    return level[0]


def nodes_to_store(old_size: int, new_leaves: list[bytes], leaves: LeafReader,
                   nodes: NodeReader) -> list[Node]:
    """The stored-level nodes that appending ``new_leaves`` to a tree of ``old_size``
    completes (plus any missing ones it had to compute on the way), for the store to
    write with the events. Nothing when no 256-event block is completed."""
    new_size = old_size + len(new_leaves)
    first_block, end_block = old_size // BLOCK, new_size // BLOCK
    if first_block == end_block:
        return []
    start = first_block * BLOCK
    carried = leaves(start, old_size) if old_size > start else []
    if len(carried) != old_size - start:
        raise LookupError(f"leaves {start}..{old_size - 1} are not all stored")
    run = carried + new_leaves
    roots = [_perfect_root(run[i * BLOCK:(i + 1) * BLOCK])
             for i in range(end_block - first_block)]
    # Above the blocks, the tree is an ordinary one whose "leaves" are block roots.
    tree = StoredTree(first_block * BLOCK, leaves, nodes)
    shifted = _Shifted(tree)
    frontier = frontier_at(shifted, first_block)
    _, made = append_leaves(frontier, roots)
    out = {(level + STORED_LEVEL, index): h for level, index, h in made}
    out.update(tree.computed)
    return [(level, index, h) for (level, index), h in sorted(out.items())]


class _Shifted:
    """The tree above the blocks, seen as a tree of its own (level 0 = block roots)."""

    def __init__(self, tree: StoredTree) -> None:
        self.tree = tree

    def node(self, level: int, index: int) -> bytes:
        return self.tree.node(level + STORED_LEVEL, index)


def tree_root(size: int, leaves: LeafReader, nodes: NodeReader) -> tuple[bytes, list[Node]]:
    """MTH of the first ``size`` leaves, and any stored-level nodes computed for it."""
    tree = StoredTree(size, leaves, nodes)
    tree.prefetch(frontier_positions(size))
    found = root(tree, size)
    return found, [(lv, ix, h) for (lv, ix), h in tree.computed.items()]


def prove_inclusion(index: int, size: int, leaves: LeafReader, nodes: NodeReader
                    ) -> tuple[list[bytes], list[Node]]:
    tree = StoredTree(size, leaves, nodes)
    tree.prefetch(inclusion_proof_nodes(index, size))
    proof = inclusion_proof(tree, index, size)
    return proof, [(lv, ix, h) for (lv, ix), h in tree.computed.items()]


def prove_consistency(old_size: int, new_size: int, leaves: LeafReader, nodes: NodeReader
                      ) -> tuple[list[bytes], list[Node]]:
    tree = StoredTree(new_size, leaves, nodes)
    tree.prefetch(consistency_proof_nodes(old_size, new_size))
    proof = consistency_proof(tree, old_size, new_size)
    return proof, [(lv, ix, h) for (lv, ix), h in tree.computed.items()]
