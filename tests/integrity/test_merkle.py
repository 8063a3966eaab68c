"""The RFC 6962 / RFC 9162 Merkle tree of trailbook.integrity.merkle.

Three kinds of evidence:

- Known answers: the test vectors of Certificate Transparency's reference
  implementation (8 leaves; roots of sizes 0..8, every complete node, some inclusion and
  consistency proofs), as published in transparency-dev/merkle (testonly/constants.go,
  testonly/reference_test.go, proof/verify_test.go).
- A naive reference (``Reference`` below), transcribed from the RFC's recursive
  definitions of MTH, PATH and PROOF with nothing shared with the module under test. It
  is itself checked against the known answers.
- Properties on trees up to 10,000 leaves: the incremental tree gives the reference's
  roots and proofs, proofs verify, any alteration fails, batch appends equal one-by-one
  appends, and proofs cost O(log n) node reads."""

from __future__ import annotations

import random
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailbook.integrity.merkle import (
    Frontier,
    MemoryTree,
    append_leaves,
    consistency_proof,
    consistency_proof_nodes,
    empty_root,
    frontier_at,
    frontier_positions,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    mth,
    node_hash,
    root,
    root_from_frontier,
    verify_consistency,
    verify_inclusion,
)

# -- known answers ------------------------------------------------------------------


def h(hex_digits: str) -> bytes:
    return bytes.fromhex(hex_digits)


LEAF_INPUTS = [
    h(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# MTH of the first n leaves, n = 0..8.
KNOWN_ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# Every complete subtree of the 8-leaf tree: KNOWN_NODES[level][index].
KNOWN_NODES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# The frontier (compact range) of the first n leaves, n = 0..8, as (level, index).
KNOWN_FRONTIERS = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]

# (leaf index, tree size, proof)
KNOWN_INCLUSION = [
    (0, 1, []),
    (0, 2, [KNOWN_NODES[0][1]]),
    (1, 2, [KNOWN_NODES[0][0]]),
    (2, 3, [KNOWN_NODES[1][0]]),
    (1, 5, [KNOWN_NODES[0][0], KNOWN_NODES[1][1], KNOWN_NODES[0][4]]),
    (0, 8, [KNOWN_NODES[0][1], KNOWN_NODES[1][1], KNOWN_NODES[2][1]]),
    (5, 8, [KNOWN_NODES[0][4], KNOWN_NODES[1][3], KNOWN_NODES[2][0]]),
]
# Spelled out in hex once, to be sure the table above is what was published.
assert KNOWN_INCLUSION[6][2] == [
    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
]

# (old size, new size, proof)
KNOWN_CONSISTENCY = [
    (1, 1, []),
    (1, 8, [KNOWN_NODES[0][1], KNOWN_NODES[1][1], KNOWN_NODES[2][1]]),
    (6, 8, [KNOWN_NODES[1][2], KNOWN_NODES[1][3], KNOWN_NODES[2][0]]),
    (2, 5, [KNOWN_NODES[1][1], KNOWN_NODES[0][4]]),
    (6, 7, [KNOWN_NODES[1][2], KNOWN_NODES[0][6], KNOWN_NODES[2][0]]),
]
assert KNOWN_CONSISTENCY[2][2] == [
    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
]


# -- the naive reference ----------------------------------------------------------------


def _ref_split(n: int) -> int:
    """The largest power of two smaller than n, found by counting."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    """RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1 (PROOF, SUBPROOF) as written,
    over ranges [lo, hi) of one list of entries. MTH is memoised per range, or trees of
    10,000 leaves would be too slow; it is the same recursion."""

    def __init__(self, entries: list[bytes]) -> None:
        self.leaves = [sha256(b"\x00" + entry).digest() for entry in entries]
        self._memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return sha256(b"").digest()
        if n == 1:
            return self.leaves[lo]
        if (lo, hi) not in self._memo:
            k = _ref_split(n)
            left, right = self.mth(lo, lo + k), self.mth(lo + k, hi)
            self._memo[(lo, hi)] = sha256(b"\x01" + left + right).digest()
        return self._memo[(lo, hi)]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi]), m counted from lo."""
        n = hi - lo
        if n == 1:
            return []
        k = _ref_split(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[0:n])."""
        return self.subproof(m, 0, n, True)

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = _ref_split(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


# -- helpers ----------------------------------------------------------------------------

N = 10_000
# Trees of up to N leaves are tested; the stored tree is twice as big, so that a claim
# about a wrong size (up to 2 N + 1) can come with that size's real root.
ENTRIES = [b"event %d" % i for i in range(2 * N + 2)]


def with_extra_leaves(entries: list[bytes]) -> MemoryTree:
    """``entries`` and as many more: room for the roots of wrong sizes."""
    return MemoryTree([*entries, *(b"extra %d" % i for i in range(len(entries) + 2))])


@pytest.fixture(scope="module")
def big() -> MemoryTree:
    """2 N + 2 leaves appended one by one; any size up to that is a past size of it."""
    tree = MemoryTree()
    for entry in ENTRIES:
        tree.append(entry)
    return tree


@pytest.fixture(scope="module")
def ref() -> Reference:
    return Reference(ENTRIES)


class CountingSource:
    def __init__(self, inner: MemoryTree) -> None:
        self.inner = inner
        self.reads = 0

    def node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.inner.node(level, index)


def flip(b: bytes) -> bytes:
    return bytes([b[0] ^ 1]) + b[1:]


OTHER = sha256(b"not in the tree").digest()


def root_or(tree: MemoryTree, size: int, default: bytes) -> bytes:
    """The root of ``size`` leaves of ``tree``; ``default`` for a negative size (which
    the verifiers refuse whatever the root)."""
    return tree.root(size) if size >= 0 else default


def inclusion_alterations(
    tree: MemoryTree, leaf: bytes, index: int, size: int, proof: list[bytes], root_: bytes
) -> list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]]:
    """Ways to change an inclusion proof's inputs, each of which must fail.

    A claim for another size comes with that size's real root (when ``tree`` has it):
    sizes and roots travel together in signed checkpoints, and with the root left as
    it was, a neighbouring size can share the proof's shape and pass (in the RFC's
    algorithm too)."""

    def sized(other_size: int) -> bytes:
        return root_or(tree, other_size, root_)

    out: list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]] = [
        ("tampered leaf", (flip(leaf), index, size, proof, root_)),
        ("other leaf", (OTHER, index, size, proof, root_)),
        ("tampered root", (leaf, index, size, proof, flip(root_))),
        ("extended proof", (leaf, index, size, [*proof, OTHER], root_)),
        ("proof with the root appended", (leaf, index, size, [*proof, root_], root_)),
        ("proof with a hash prepended", (leaf, index, size, [OTHER, *proof], root_)),
        ("index beyond size", (leaf, size, size, proof, root_)),
        ("negative index", (leaf, -1, size, proof, root_)),
        ("double size", (leaf, index, size * 2, proof, sized(size * 2))),
        ("short hash", (leaf[:31], index, size, proof, root_)),
    ]
    for wrong in {index - 1, index + 1, index ^ 2, index ^ 1}:
        if 0 <= wrong < size and wrong != index:
            out.append((f"wrong index {wrong}", (leaf, wrong, size, proof, root_)))
    if size > 1:
        out.append(("size - 1", (leaf, index, size - 1, proof, sized(size - 1))))
    out.append(("size + 1", (leaf, index, size + 1, proof, sized(size + 1))))
    if proof:
        out.append(("truncated proof", (leaf, index, size, proof[:-1], root_)))
        out.append(("proof without its first hash", (leaf, index, size, proof[1:], root_)))
        for i in range(len(proof)):
            changed = [*proof]
            changed[i] = flip(changed[i])
            out.append((f"flipped bit in proof[{i}]", (leaf, index, size, changed, root_)))
    for i in range(len(proof) - 1):
        if proof[i] != proof[i + 1]:
            swapped = [*proof]
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            out.append((f"swapped proof[{i}] and [{i + 1}]", (leaf, index, size, swapped, root_)))
    return out


def consistency_alterations(
    tree: MemoryTree, old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]]:
    """Ways to change a (non-trivial) consistency proof's inputs, each of which must fail.
    Other sizes come with their real roots, as in ``inclusion_alterations``."""

    def sized(other_size: int, default: bytes) -> bytes:
        return root_or(tree, other_size, default)

    out: list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]] = [
        ("tampered old root", (old, new, flip(old_root), new_root, proof)),
        ("tampered new root", (old, new, old_root, flip(new_root), proof)),
        ("swapped roots", (old, new, new_root, old_root, proof)),
        ("empty proof", (old, new, old_root, new_root, [])),
        ("extended proof", (old, new, old_root, new_root, [*proof, OTHER])),
        ("proof with the old root appended", (old, new, old_root, new_root, [*proof, old_root])),
        ("proof with the new root appended", (old, new, old_root, new_root, [*proof, new_root])),
        ("proof with a hash prepended", (old, new, old_root, new_root, [OTHER, *proof])),
        ("proof with old root prepended", (old, new, old_root, new_root, [old_root, *proof])),
        ("proof[0] repeated", (old, new, old_root, new_root, [proof[0], *proof])),
        ("truncated proof", (old, new, old_root, new_root, proof[:-1])),
        ("proof without its first hash", (old, new, old_root, new_root, proof[1:])),
        ("old size + 1", (old + 1, new, sized(old + 1, old_root), new_root, proof)),
        ("old size - 1", (old - 1, new, sized(old - 1, old_root), new_root, proof)),
        ("old size ^ 2", (old ^ 2, new, sized(old ^ 2, old_root), new_root, proof)),
        ("new size * 2", (old, new * 2, old_root, sized(new * 2, new_root), proof)),
        ("new size + 1", (old, new + 1, old_root, sized(new + 1, new_root), proof)),
        ("new size - 1", (old, new - 1, old_root, sized(new - 1, new_root), proof)),
        ("sizes swapped", (new, old, old_root, new_root, proof)),
    ]
    for i in range(len(proof)):
        changed = [*proof]
        changed[i] = flip(changed[i])
        out.append((f"flipped bit in proof[{i}]", (old, new, old_root, new_root, changed)))
    for i in range(len(proof) - 1):
        if proof[i] != proof[i + 1]:
            swapped = [*proof]
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            out.append(
                (f"swapped proof[{i}] and [{i + 1}]", (old, new, old_root, new_root, swapped))
            )
    return out


def assert_inclusion_holds(tree: MemoryTree, index: int, size: int) -> None:
    leaf = tree.node(0, index)
    proof = tree.inclusion_proof(index, size)
    root_ = tree.root(size)
    assert verify_inclusion(leaf, index, size, proof, root_)
    for what, args in inclusion_alterations(tree, leaf, index, size, proof, root_):
        assert not verify_inclusion(*args), what


# -- known answers ----------------------------------------------------------------------


def test_hashing_rules() -> None:
    assert leaf_hash(b"abc") == sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert empty_root() == sha256(b"").digest() == KNOWN_ROOTS[0]


def test_known_root_of_the_eight_leaves() -> None:
    assert mth(LEAF_INPUTS).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@pytest.mark.parametrize("size", range(9))
def test_known_roots(size: int) -> None:
    tree = MemoryTree(LEAF_INPUTS[:size])
    assert mth(LEAF_INPUTS[:size]) == KNOWN_ROOTS[size]
    assert tree.root() == KNOWN_ROOTS[size]
    assert root_from_frontier(tree.frontier) == KNOWN_ROOTS[size]
    assert Reference(LEAF_INPUTS).mth(0, size) == KNOWN_ROOTS[size]
    # Every past size, from the stored nodes of the full tree.
    full = MemoryTree(LEAF_INPUTS)
    assert full.root(size) == root(full, size) == KNOWN_ROOTS[size]


def test_known_nodes_and_frontiers() -> None:
    tree = MemoryTree()
    for size, entry in enumerate(LEAF_INPUTS, start=1):
        tree.append(entry)
        assert frontier_positions(size) == KNOWN_FRONTIERS[size]
        assert tree.frontier == Frontier(
            size, tuple(KNOWN_NODES[level][index] for level, index in KNOWN_FRONTIERS[size])
        )
    assert tree.nodes() == {
        (level, index): node
        for level, row in enumerate(KNOWN_NODES)
        for index, node in enumerate(row)
    }


@pytest.mark.parametrize(("index", "size", "expected"), KNOWN_INCLUSION)
def test_known_inclusion_proofs(index: int, size: int, expected: list[bytes]) -> None:
    tree = MemoryTree(LEAF_INPUTS)
    assert tree.inclusion_proof(index, size) == expected
    assert Reference(LEAF_INPUTS).path(index, 0, size) == expected
    leaf = leaf_hash(LEAF_INPUTS[index])
    assert verify_inclusion(leaf, index, size, expected, KNOWN_ROOTS[size])
    assert_inclusion_holds(with_extra_leaves(LEAF_INPUTS), index, size)


@pytest.mark.parametrize(("old", "new", "expected"), KNOWN_CONSISTENCY)
def test_known_consistency_proofs(old: int, new: int, expected: list[bytes]) -> None:
    tree = MemoryTree(LEAF_INPUTS)
    assert tree.consistency_proof(old, new) == expected
    assert Reference(LEAF_INPUTS).proof(old, new) == expected
    assert verify_consistency(old, new, KNOWN_ROOTS[old], KNOWN_ROOTS[new], expected)
    if expected:
        alterations = consistency_alterations(
            with_extra_leaves(LEAF_INPUTS), old, new, KNOWN_ROOTS[old], KNOWN_ROOTS[new], expected
        )
        for what, args in alterations:
            assert not verify_consistency(*args), what


def test_every_proof_of_the_eight_leaf_tree() -> None:
    tree = with_extra_leaves(LEAF_INPUTS)
    reference = Reference(LEAF_INPUTS)
    for size in range(1, 9):
        for index in range(size):
            assert tree.inclusion_proof(index, size) == reference.path(index, 0, size)
            assert_inclusion_holds(tree, index, size)
        for old in range(size + 1):
            proof = tree.consistency_proof(old, size)
            assert proof == (reference.proof(old, size) if old else [])
            assert verify_consistency(old, size, KNOWN_ROOTS[old], KNOWN_ROOTS[size], proof)


# -- edge cases ------------------------------------------------------------------------


def test_trivial_consistency() -> None:
    a, b = KNOWN_ROOTS[1], KNOWN_ROOTS[2]
    assert verify_consistency(0, 0, empty_root(), empty_root(), [])
    assert verify_consistency(0, 5, empty_root(), KNOWN_ROOTS[5], [])
    assert verify_consistency(3, 3, KNOWN_ROOTS[3], KNOWN_ROOTS[3], [])
    assert not verify_consistency(0, 5, a, KNOWN_ROOTS[5], [])  # size 0 has the empty root
    assert not verify_consistency(0, 5, empty_root(), KNOWN_ROOTS[5], [a])
    assert not verify_consistency(1, 1, a, b, [])  # same size, different roots
    assert not verify_consistency(1, 1, a, a, [a])  # same size, non-empty proof
    assert not verify_consistency(1, 2, a, b, [])  # a real step needs a proof
    assert not verify_consistency(2, 1, b, a, [a])  # time travel
    assert not verify_consistency(-1, 1, a, a, [])
    assert not verify_consistency(1, 1, a[:16], a[:16], [])  # not hashes


def test_trivial_inclusion() -> None:
    only = leaf_hash(b"data")
    assert verify_inclusion(only, 0, 1, [], only)  # one leaf: the root is the leaf hash
    assert not verify_inclusion(only, 0, 1, [], flip(only))
    assert not verify_inclusion(only, 0, 0, [], empty_root())  # nothing is in the empty tree
    assert not verify_inclusion(only, 1, 1, [], only)
    assert not verify_inclusion(b"", 0, 1, [], b"")


def test_proofs_are_bound_to_the_claimed_size() -> None:
    """A proof must end exactly at the root of the claimed size: neither fall short of
    it (the root of a smaller tree claimed for a bigger size) nor go past it."""
    tree = MemoryTree(LEAF_INPUTS)
    l0 = tree.node(0, 0)
    # Short: the proof and root of size 2, claimed for size 3.
    assert not verify_inclusion(l0, 0, 3, tree.inclusion_proof(0, 2), tree.root(2))
    assert not verify_consistency(1, 3, tree.root(1), tree.root(2), tree.consistency_proof(1, 2))
    # Past the root: one more hash than a tree of 2 leaves is high, with a root made to
    # match what the extra hash gives.
    proof = [*tree.inclusion_proof(0, 2), OTHER]
    assert not verify_inclusion(l0, 0, 2, proof, node_hash(OTHER, tree.root(2)))


def test_bad_arguments() -> None:
    tree = MemoryTree(LEAF_INPUTS)
    with pytest.raises(ValueError):
        tree.inclusion_proof(8)
    with pytest.raises(ValueError):
        inclusion_proof(tree, -1, 8)
    with pytest.raises(ValueError):
        inclusion_proof(tree, 0, 0)
    with pytest.raises(ValueError):
        consistency_proof(tree, 5, 4)
    with pytest.raises(ValueError):
        tree.root(9)
    with pytest.raises(ValueError):
        frontier_positions(-1)
    with pytest.raises(KeyError):  # a source only has complete nodes
        root(tree, 9)
    with pytest.raises(ValueError):
        append_leaves(Frontier(), [b"raw entry, not a leaf hash"])
    with pytest.raises(ValueError):
        Frontier(3, (KNOWN_NODES[1][0],))  # 3 leaves have two frontier nodes
    assert consistency_proof(tree, 0, 8) == []
    assert consistency_proof(tree, 8, 8) == []
    assert root(tree, 0) == empty_root()


# -- properties on trees of up to 10,000 leaves --------------------------------------


def test_reference_agrees_with_module_on_big_tree(big: MemoryTree, ref: Reference) -> None:
    assert big.size == len(ENTRIES)
    assert big.root() == ref.mth(0, big.size) == mth(ENTRIES)
    assert big.root(N) == ref.mth(0, N) == mth(ENTRIES[:N])


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, N), picks=st.lists(st.floats(0, 1, exclude_max=True), max_size=6))
def test_inclusion_proofs(big: MemoryTree, ref: Reference, size: int, picks: list[float]) -> None:
    root_ = root(big, size)
    assert root_ == ref.mth(0, size)
    for index in {0, size - 1, *(int(p * size) for p in picks)}:
        proof = inclusion_proof(big, index, size)
        assert proof == ref.path(index, 0, size)
        assert_inclusion_holds(big, index, size)


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(0, N), min_size=2, max_size=2))
def test_consistency_proofs(big: MemoryTree, ref: Reference, sizes: list[int]) -> None:
    old, new = sorted(sizes)
    old_root, new_root = root(big, old), root(big, new)
    assert (old_root, new_root) == (ref.mth(0, old), ref.mth(0, new))
    proof = consistency_proof(big, old, new)
    assert proof == (ref.proof(old, new) if old > 0 else [])
    assert verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        for what, args in consistency_alterations(big, old, new, old_root, new_root, proof):
            assert not verify_consistency(*args), what
        # A different old tree of the same size is not consistent with the new one.
        forged = MemoryTree([*ENTRIES[: old - 1], b"forged"])
        assert not verify_consistency(old, new, forged.root(), new_root, proof)


def test_every_leaf_of_some_trees(big: MemoryTree, ref: Reference) -> None:
    rnd = random.Random(7)
    sizes = [*range(1, 70), 1023, 1024, 1025, rnd.randrange(2000, N), N]
    for size in sizes:
        root_ = root(big, size)
        for index in range(size):
            proof = inclusion_proof(big, index, size)
            assert verify_inclusion(big.node(0, index), index, size, proof, root_)
            if size < 2000 or index % 97 == 0:
                assert proof == ref.path(index, 0, size)


def test_every_pair_of_small_sizes(big: MemoryTree, ref: Reference) -> None:
    for new in range(1, 70):
        for old in range(1, new + 1):
            proof = consistency_proof(big, old, new)
            assert proof == ref.proof(old, new)
            assert verify_consistency(old, new, root(big, old), root(big, new), proof)


@settings(max_examples=100, deadline=None)
@given(size=st.integers(2, 3000), data=st.data())
def test_tampered_leaf_fails(big: MemoryTree, size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    entries = [*ENTRIES[:size]]
    entries[index] = b"tampered " + entries[index]
    tampered = MemoryTree(entries)
    honest_root = root(big, size)
    # The tampered entry with the honest proof, and the tampered tree's own proof, both
    # fail against the honest root.
    honest_proof = inclusion_proof(big, index, size)
    assert not verify_inclusion(leaf_hash(entries[index]), index, size, honest_proof, honest_root)
    own_proof = tampered.inclusion_proof(index)
    assert not verify_inclusion(tampered.node(0, index), index, size, own_proof, honest_root)
    # And the tampered tree is not an extension of the honest one, nor the other way.
    later = data.draw(st.integers(size, N))
    if later > size:
        assert not verify_consistency(
            size, later, tampered.root(), root(big, later), consistency_proof(big, size, later)
        )


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.integers(0, 80), max_size=40))
def test_batches_equal_one_by_one(big: MemoryTree, batches: list[int]) -> None:
    total = sum(batches)
    frontier = Frontier()
    created: dict[tuple[int, int], bytes] = {}
    start = 0
    for n in batches:
        before = root_from_frontier(frontier)
        frontier, new = append_leaves(frontier, [leaf_hash(e) for e in ENTRIES[start : start + n]])
        for level, index, node in new:
            assert (level, index) not in created, "a node is created once"
            created[(level, index)] = node
        start += n
        assert frontier == frontier_at(big, start)
        assert root_from_frontier(frontier) == root(big, start)
        if n == 0:
            assert new == [] and root_from_frontier(frontier) == before
    # Exactly the complete subtrees of `total` leaves, with the one-by-one tree's hashes.
    expected = {
        (level, index): node
        for (level, index), node in big.nodes().items()
        if (index + 1) << level <= total
    }
    assert created == expected


def test_resume_from_a_stored_frontier(big: MemoryTree) -> None:
    """A store restarts from its nodes: frontier_at(m), then append the rest."""
    for m in (0, 1, 2, 3, 1000, 4097, 6143):
        frontier, new = append_leaves(frontier_at(big, m), [leaf_hash(e) for e in ENTRIES[m:8192]])
        assert frontier == frontier_at(big, 8192)
        assert root_from_frontier(frontier) == root(big, 8192)
        assert all(big.node(level, index) == node for level, index, node in new)
        assert Frontier(m, frontier_at(big, m).hashes).nodes() == [
            (level, index, big.node(level, index)) for level, index in frontier_positions(m)
        ]


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(1, N), min_size=2, max_size=2),
    pick=st.floats(0, 1, exclude_max=True),
)
def test_proofs_cost_log_n_reads(big: MemoryTree, sizes: list[int], pick: float) -> None:
    old, new = sorted(sizes)
    bound = 2 * new.bit_length()
    source = CountingSource(big)
    root(source, new)
    assert source.reads == new.bit_count()

    source.reads = 0
    index = int(pick * new)
    inclusion_proof(source, index, new)
    assert source.reads <= bound
    assert source.reads == len(inclusion_proof_nodes(index, new))

    source.reads = 0
    consistency_proof(source, old, new)
    assert source.reads <= bound
    assert source.reads == len(consistency_proof_nodes(old, new))


def test_proof_nodes_serve_a_proof_from_one_fetch(big: MemoryTree) -> None:
    """A store can fetch the listed nodes in one query and answer from a dict."""

    class Fetched:
        def __init__(self, positions: list[tuple[int, int]]) -> None:
            self.nodes = {p: big.node(*p) for p in positions}

        def node(self, level: int, index: int) -> bytes:
            return self.nodes[(level, index)]

    assert inclusion_proof(Fetched(inclusion_proof_nodes(4321, 9999)), 4321, 9999) == (
        inclusion_proof(big, 4321, 9999)
    )
    assert consistency_proof(Fetched(consistency_proof_nodes(777, 9999)), 777, 9999) == (
        consistency_proof(big, 777, 9999)
    )
