"""The Merkle tree of RFC 6962 / RFC 9162 (§2.1), kept incrementally, with proofs.

Hashing (SHA-256 throughout)::

    leaf_hash(d)       = SHA-256(0x00 || d)
    node_hash(l, r)    = SHA-256(0x01 || l || r)
    MTH({})            = SHA-256("")
    MTH({d0})          = leaf_hash(d0)
    MTH(D[0:n]), n > 1 = node_hash(MTH(D[0:k]), MTH(D[k:n]))
                         where k is the largest power of two smaller than n

Storage layout ("complete subtrees"). Node ``(level, index)`` is the root of the
perfect subtree over the leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0
holds the leaf hashes. A node is stored once, when its last leaf arrives, and never
changes. Every hash that MTH of any past size needs is either such a node or is built
from a few of them: for a size ``m``, the tree is the nodes of the binary decomposition
of ``m`` (``m = 2**a + 2**b + …``, largest first, left to right) folded from the right
(``node_hash(h1, node_hash(h2, … node_hash(h_{k-1}, h_k)))``). So a root costs
``popcount(m)`` node reads, and a proof at most about ``2 * log2(n)``.

The *frontier* (compact range) of a tree of size n is that decomposition for n: the
complete subtrees on the right edge. Appending only needs the frontier, and returns
the nodes that became complete, so that a store can write them in the same transaction
as the events (``append_leaves``).

The functions take any ``NodeSource``; ``MemoryTree`` is one in memory. The verifiers
(``verify_inclusion``, ``verify_consistency``) need nothing but hashes and sizes and
follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Protocol

HASH_SIZE = 32

#: A stored node: (level, index, hash).
Node = tuple[int, int, bytes]


# -- hashing ------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one entry (for Trailbook, its canonical form)."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    """MTH of the empty tree: SHA-256 of the empty string."""
    return sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): the RFC's k."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1 over raw entries, computed directly (O(n) hashes).

    For a tree too large to rehash, keep it incrementally and use ``root``."""
    hashes = [leaf_hash(entry) for entry in entries]

    def tree(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return hashes[lo]
        k = _split(hi - lo)
        return node_hash(tree(lo, lo + k), tree(lo + k, hi))

    return tree(0, len(hashes)) if hashes else empty_root()


# -- the stored tree ------------------------------------------------------------------


class NodeSource(Protocol):
    """Where the complete subtrees of one tree are kept (a dict, a database table)."""

    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree over leaves
        ``[index * 2**level, (index + 1) * 2**level)``. Raises ``LookupError`` (e.g.
        ``KeyError``) when that subtree is not (yet) complete."""
        ...


def _subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """(level, index) of the complete subtrees that make up the leaves [lo, hi), largest
    first. ``lo`` must be a multiple of the smallest power of two >= hi - lo, which is
    true of every range in the RFC's recursion, and then MTH(D[lo:hi]) is these nodes
    folded from the right (see ``_fold``)."""
    out: list[tuple[int, int]] = []
    n = hi - lo
    for level in reversed(range(n.bit_length())):
        if n >> level & 1:
            out.append((level, lo >> level))
            lo += 1 << level
    return out


def _fold(hashes: Sequence[bytes]) -> bytes:
    """node_hash(h0, node_hash(h1, … node_hash(h_{k-2}, h_{k-1}))) for k >= 1 hashes."""
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def _range_hash(source: NodeSource, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for a range of the RFC's recursion (see ``_subtrees``)."""
    return _fold([source.node(level, index) for level, index in _subtrees(lo, hi)])


def frontier_positions(size: int) -> list[tuple[int, int]]:
    """(level, index) of the frontier nodes of a tree of ``size`` leaves, left to right:
    one per bit set in ``size``, largest first. These are all the nodes ``root(source,
    size)`` reads."""
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    return _subtrees(0, size)


@dataclass(frozen=True, slots=True)
class Frontier:
    """The right edge of a tree: its size and the hashes of the complete subtrees at
    ``frontier_positions(size)``, left (largest) to right (smallest)."""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"negative tree size {self.size}")
        if len(self.hashes) != self.size.bit_count():
            raise ValueError(
                f"a tree of {self.size} leaves has {self.size.bit_count()} frontier "
                f"hashes, not {len(self.hashes)}"
            )
        for h in self.hashes:
            _check_hash(h)

    def nodes(self) -> list[Node]:
        """The frontier as stored nodes (level, index, hash)."""
        return [
            (level, index, h)
            for (level, index), h in zip(frontier_positions(self.size), self.hashes, strict=True)
        ]


def _check_hash(h: bytes) -> None:
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise ValueError(f"expected a {HASH_SIZE}-byte hash, got {h!r:.80}")


def append_leaves(frontier: Frontier, leaf_hashes: Iterable[bytes]) -> tuple[Frontier, list[Node]]:
    """Append leaf hashes (``leaf_hash(entry)``) to the tree whose right edge is
    ``frontier``.

    Returns the new frontier and every node that became complete, leaves included, as
    (level, index, hash) in creation order; a store writes these with the events. Each
    leaf costs O(log n) at worst and O(1) on average (about one new interior node)."""
    size = frontier.size
    stack = [
        (level, h) for (level, _), h in zip(frontier_positions(size), frontier.hashes, strict=True)
    ]
    new: list[Node] = []
    for h in leaf_hashes:
        _check_hash(h)
        level, index = 0, size
        new.append((0, index, h))
        # The leaf completes one subtree per trailing 1-bit of the old size.
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            h = node_hash(left, h)
            level, index = level + 1, index >> 1
            new.append((level, index, h))
        stack.append((level, h))
        size += 1
    return Frontier(size, tuple(h for _, h in stack)), new


def root_from_frontier(frontier: Frontier) -> bytes:
    """MTH of the tree whose right edge is ``frontier``, with no reads."""
    return _fold(frontier.hashes) if frontier.hashes else empty_root()


def frontier_at(source: NodeSource, size: int) -> Frontier:
    """The frontier of the first ``size`` leaves, read from ``source`` (popcount(size)
    reads): how a store resumes appending, or rebuilds the state of a past size."""
    return Frontier(
        size, tuple(source.node(level, index) for level, index in frontier_positions(size))
    )


def root(source: NodeSource, size: int) -> bytes:
    """MTH(D[0:size]) for any size up to the current one, from popcount(size) reads."""
    if size == 0:
        return empty_root()
    return _fold([source.node(level, index) for level, index in frontier_positions(size)])


# -- proofs (RFC 9162 §2.1.3.1, §2.1.4.1) ----------------------------------------------


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make PATH(index, D[0:size]), leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:  # the leaf is on the left: the sibling is the right part
            ranges.append((lo + k, hi))
            hi = lo + k
        else:  # on the right: the sibling is the (complete) left part
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make PROOF(old_size, D[0:new_size]), in proof order."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m = 0, new_size, old_size  # SUBPROOF(m, D[lo:hi], b); m counts from lo
    known = True  # the RFC's b: the verifier already has MTH(D[lo:lo+m]) (the old root)
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, known = lo + k, m - k, False
    if not known:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _positions(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [position for lo, hi in ranges for position in _subtrees(lo, hi)]


def inclusion_proof_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """(level, index) of every node ``inclusion_proof(source, index, size)`` reads, so
    that a store can fetch them in one query and serve them from a dict."""
    return _positions(_inclusion_ranges(index, size))


def consistency_proof_nodes(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """(level, index) of every node ``consistency_proof(source, old_size, new_size)``
    reads."""
    return _positions(_consistency_ranges(old_size, new_size))


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1: the sibling hashes from the leaf up
    to the root of the tree of ``size`` leaves (any size up to the current one).

    At most about 2 * log2(size) node reads. Raises ``ValueError`` unless
    0 <= index < size."""
    return [_range_hash(source, lo, hi) for lo, hi in _inclusion_ranges(index, size)]


def consistency_proof(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1: the hashes that show the tree
    of ``new_size`` leaves extends the tree of ``old_size`` leaves. Empty when
    old_size is 0 or equals new_size.

    At most about 2 * log2(new_size) node reads. Raises ``ValueError`` unless
    0 <= old_size <= new_size."""
    return [_range_hash(source, lo, hi) for lo, hi in _consistency_ranges(old_size, new_size)]


# -- verifiers (RFC 9162 §2.1.3.2, §2.1.4.2) --------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True if ``proof`` shows that the leaf with hash ``leaf_hash`` (SHA-256(0x00 ||
    entry)) is at position ``index`` (from 0) of the tree of ``size`` leaves whose root
    is ``root``. RFC 9162 §2.1.3.2, step by step."""
    if not 0 <= index < size:
        return False
    if any(len(h) != HASH_SIZE for h in (leaf_hash, root, *proof)):
        return False
    fn, sn = index, size - 1  # the leaf's position and the last position, at this level
    r = leaf_hash
    for p in proof:
        if sn == 0:  # already at the root: the proof is too long
            return False
        if fn & 1 or fn == sn:  # p is on the left
            r = node_hash(p, r)
            # On the right edge, skip the levels where this node has no sibling.
            while fn != 0 and fn & 1 == 0:
                fn, sn = fn >> 1, sn >> 1
        else:  # p is on the right
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True if ``proof`` shows that the tree of ``new_size`` leaves with root
    ``new_root`` starts with the tree of ``old_size`` leaves with root ``old_root``.
    RFC 9162 §2.1.4.2, step by step, plus the trivial cases: equal sizes need equal
    roots and an empty proof; old_size 0 needs the empty root and an empty proof (the
    empty tree is a prefix of every tree)."""
    if not 0 <= old_size <= new_size:
        return False
    if any(len(h) != HASH_SIZE for h in (old_root, new_root, *proof)):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == empty_root()
    if not proof:  # 1.
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # 2. old_size is a power of two: the old tree
        path.insert(0, old_root)  # is a node of the new one, and the proof omits it
    fn, sn = old_size - 1, new_size - 1  # 3.
    while fn & 1:  # 4.
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:
            return False
        if fn & 1 or fn == sn:  # c is on the left: in both trees
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn != 0 and fn & 1 == 0:
                fn, sn = fn >> 1, sn >> 1
        else:  # c is on the right: only in the new tree
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root  # 7.


# -- in memory -----------------------------------------------------------------------


class MemoryTree:
    """A tree kept in a dict: a ``NodeSource`` plus its frontier. For tests, and for a
    verifier that rebuilds a tree from events it has read."""

    def __init__(self, entries: Iterable[bytes] = ()) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._frontier = Frontier()
        self.append_hashes(leaf_hash(entry) for entry in entries)

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def frontier(self) -> Frontier:
        return self._frontier

    def node(self, level: int, index: int) -> bytes:
        return self._nodes[(level, index)]

    def nodes(self) -> dict[tuple[int, int], bytes]:
        """A copy of every stored node, by (level, index)."""
        return dict(self._nodes)

    def append(self, entry: bytes) -> int:
        """Append one entry (hashed with ``leaf_hash``); returns its leaf index."""
        self.append_hashes([leaf_hash(entry)])
        return self.size - 1

    def append_hashes(self, leaf_hashes: Iterable[bytes]) -> list[Node]:
        """Append leaf hashes; returns the nodes that became complete."""
        self._frontier, new = append_leaves(self._frontier, leaf_hashes)
        for level, index, h in new:
            self._nodes[(level, index)] = h
        return new

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is not in 0..{self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self._size(size)
        return root_from_frontier(self._frontier) if size == self.size else root(self, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self, index, self._size(size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(self, old_size, self._size(new_size))
