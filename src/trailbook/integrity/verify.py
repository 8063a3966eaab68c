"""Verification of a tenant's chain against its stored hashes and signed checkpoints.

Pure: it reads rows and checkpoints handed to it and recomputes. Each row is checked
against the stored hash of the row before it, so one damaged event is named alone
instead of every event after it; the chain recomputed from genesis is checked against
every signed checkpoint, which catches a rewrite of the stored hashes too."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from trailbook.integrity.chain import GENESIS, link
from trailbook.integrity.merkle import Frontier, append_leaves, root_from_frontier
from trailbook.integrity.merkle_store import leaf_of
from trailbook.integrity.purge_seal import PurgeDigest, purge_payload
from trailbook.integrity.signing import checkpoint_payload, signature_valid
from trailbook.model.timefmt import parse_rfc3339
from trailbook.store.purges import PurgedRow, PurgeRecord
from trailbook.store.records import ChainHead, ChainRow, Checkpoint

CHANGED = "changed"
MISSING = "missing"
REORDERED = "reordered"
BAD_SIGNATURE = "bad_signature"
CHECKPOINT_MISMATCH = "checkpoint_mismatch"

MAX_PROBLEMS = 100
POS_SHIFT = 10


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}


@dataclass
class VerifyReport:
    tenant: str
    events_checked: int = 0
    last_seq: int = 0
    checkpoints_checked: int = 0
    last_checkpoint_seq: int | None = None
    events_purged: int = 0  # removed by retention, standing in by their kept hashes
    purges_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def as_dict(self) -> dict[str, object]:
        first = self.first_problem
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "events_checked": self.events_checked,
            "last_seq": self.last_seq,
            "checkpoints_checked": self.checkpoints_checked,
            "last_checkpoint_seq": self.last_checkpoint_seq,
            "events_purged": self.events_purged,
            "purges_checked": self.purges_checked,
            "first_problem": first.as_dict() if first else None,
            "problems": [p.as_dict() for p in sorted(self.problems, key=lambda p: p.seq)],
        }


class _Verifier:
    def __init__(
        self, tenant: str, checkpoints: list[Checkpoint], keys: dict[str, Ed25519PublicKey]
    ) -> None:
        self.report = VerifyReport(tenant)
        self.tenant = tenant
        self.keys = keys
        self.checkpoints = {c.seq: c for c in checkpoints}

    def problem(self, seq: int, kind: str, detail: str) -> None:
        if len(self.report.problems) < MAX_PROBLEMS:
            self.report.problems.append(Problem(seq, kind, detail))

    def check_row(self, row: ChainRow, stored_prev: bytes | None) -> None:
        try:
            doc = orjson.loads(row.doc)
        except orjson.JSONDecodeError:
            self.problem(row.seq, CHANGED, "the stored record is not valid JSON")
            return
        if not isinstance(doc, dict):
            self.problem(row.seq, CHANGED, "the stored record is not a JSON object")
            return
        recorded_seq = doc.get("seq")
        if recorded_seq != row.seq:
            self.problem(
                row.seq,
                REORDERED,
                f"the event stored at seq {row.seq} was recorded as seq {recorded_seq}",
            )
            return
        if stored_prev is not None and link(stored_prev, row.doc) != row.hash:
            self.problem(row.seq, CHANGED, "the event's content does not match its hash")
            return
        mismatched = self._index_mismatch(row, doc)
        if mismatched:
            self.problem(
                row.seq, CHANGED, f"the indexed {mismatched} differs from the hashed record"
            )

    def _index_mismatch(self, row: ChainRow, doc: dict[str, object]) -> str | None:
        if doc.get("tenant") != self.tenant:
            return "tenant"
        if doc.get("category") != row.category:
            return "category"
        if doc.get("action") != row.action:
            return "action"
        if doc.get("idempotency_key") != row.idempotency_key:
            return "idempotency key"
        try:
            if str(uuid.UUID(bytes=bytes(row.id_bytes))) != doc.get("id"):
                return "id"
            occurred = parse_rfc3339(str(doc.get("occurred_at")))
        except ValueError:
            return "id or time"
        if not occurred <= (row.pos >> POS_SHIFT) < occurred + 1_000_000:
            return "time position"
        return None

    def check_checkpoint(self, checkpoint: Checkpoint, chain_hash: bytes | None,
                         tree_root: bytes | None = None) -> None:
        self.report.checkpoints_checked += 1
        seq = checkpoint.seq
        public = self.keys.get(checkpoint.key_id)
        payload = checkpoint_payload(
            self.tenant, seq, checkpoint.hash, checkpoint.created_at, checkpoint.key_id,
            checkpoint.tree_root,
        )
        if public is None:
            self.problem(
                seq,
                BAD_SIGNATURE,
                f"checkpoint at seq {seq} is signed by unknown key {checkpoint.key_id}",
            )
        elif not signature_valid(public, payload, checkpoint.signature):
            self.problem(
                seq, BAD_SIGNATURE, f"the signature of the checkpoint at seq {seq} does not verify"
            )
        elif chain_hash is None:
            self.problem(
                seq,
                MISSING,
                f"a signed checkpoint covers seq {seq}, "
                f"but the chain ends at seq {self.report.last_seq}",
            )
        elif chain_hash != checkpoint.hash:
            self.problem(
                seq,
                CHECKPOINT_MISMATCH,
                f"the chain recomputed up to seq {seq} "
                "differs from the signed checkpoint: history before it was rewritten",
            )
        elif checkpoint.tree_root is not None and tree_root != checkpoint.tree_root:
            self.problem(
                seq,
                CHECKPOINT_MISMATCH,
                f"the Merkle root of the first {seq} events differs from the signed "
                "checkpoint's: history before it was rewritten",
            )
        if self.report.last_checkpoint_seq is None or seq > self.report.last_checkpoint_seq:
            self.report.last_checkpoint_seq = seq


def verify_chain(
    tenant: str,
    rows: Iterable[ChainRow],
    head: ChainHead | None,
    checkpoints: list[Checkpoint],
    keys: dict[str, Ed25519PublicKey],
    head_after: Callable[[], ChainHead | None] | None = None,
    purged: Iterable[PurgedRow] = (),
    purges: Callable[[], list[PurgeRecord]] | None = None,
) -> VerifyReport:
    """Recompute the chain over ``rows`` and check it against ``head`` and the signed
    ``checkpoints``. A live trail grows while it is read: with ``head_after`` (the head
    read again once the rows are read), events past ``head`` are a problem only when
    the head read afterwards does not reach them either.

    ``purged`` (in seq order) are the events retention removed, each standing in the
    chain by the hash and leaf kept of it; ``purges`` gives the signed records over
    them (read once the rows are read, so a purge committed meanwhile is known), each
    checked to cover exactly its removed events."""
    v = _Verifier(tenant, checkpoints, keys)
    report = v.report
    expected = 1
    stored_prev = GENESIS  # the stored hash of the previous row
    pure = GENESIS  # the chain recomputed from genesis over the stored records
    pure_at: dict[int, bytes] = {}
    # The Merkle tree over the stored records, in seq order, for checkpoints that sign
    # its root (leaves are gathered and folded in at checkpoints and every so often).
    rooted = {c.seq for c in checkpoints if c.tree_root is not None}
    frontier, pending = Frontier(), list[bytes]()
    root_at: dict[int, bytes] = {}
    digests: dict[str, PurgeDigest] = {}
    removed = iter(purged)
    gone = next(removed, None)

    def tree_and_marks(seq: int, leaf: bytes | None, doc: bytes) -> None:
        """Fold the leaf in (``leaf``, or made from ``doc``), note the chain at marks."""
        nonlocal frontier, pending
        if rooted:
            pending.append(leaf if leaf is not None else leaf_of(doc))
            if seq in rooted or len(pending) >= 10_000:
                frontier, _ = append_leaves(frontier, pending)
                pending = []
            if seq in rooted:
                root_at[seq] = root_from_frontier(frontier)
        if seq in v.checkpoints:
            pure_at[seq] = pure

    def gap_before(seq: int) -> None:
        gap = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}-{seq - 1}"
        v.problem(expected, MISSING, f"{gap} missing from the chain")

    def take_purged(until: int | None) -> None:
        """Stand the removed events before ``until`` (all, for None) in the chain."""
        nonlocal gone, expected, stored_prev, pure
        while gone is not None and (until is None or gone.seq < until):
            row, gone = gone, next(removed, None)
            if row.seq < expected:
                v.problem(row.seq, REORDERED, f"seq {row.seq} is listed as purged twice")
                continue
            if row.seq > expected:
                gap_before(row.seq)
            digests.setdefault(row.purge_id, PurgeDigest()).add(row.seq, row.hash, row.leaf)
            stored_prev = pure = row.hash
            tree_and_marks(row.seq, row.leaf, b"")
            report.events_purged += 1
            report.last_seq = row.seq
            expected = row.seq + 1

    for row in rows:
        take_purged(row.seq)
        if gone is not None and gone.seq == row.seq:
            v.problem(row.seq, CHANGED, f"seq {row.seq} was removed by a retention run, yet "
                      "an event is stored there")
            take_purged(row.seq + 1)
            expected = row.seq
        if row.seq < expected:
            v.problem(row.seq, REORDERED, f"seq {row.seq} appears twice")
            continue
        if row.seq > expected:
            gap_before(row.seq)
            # The row after a gap cannot be linked; check the rest, carry on from its hash.
            v.check_row(row, None)
            stored_prev = bytes(row.hash)
            pure = bytes(row.hash)
        else:
            v.check_row(row, stored_prev)
            stored_prev = bytes(row.hash)
            pure = link(pure, row.doc)
        tree_and_marks(row.seq, None, row.doc)
        report.events_checked += 1
        report.last_seq = row.seq
        expected = row.seq + 1
    take_purged(None)
    _check_purges(v, purges() if purges is not None else [], digests)
    if head is None:
        if report.last_seq:
            v.problem(report.last_seq, CHANGED,
                      "the chain head record is missing, though events are stored")
    elif head.seq > report.last_seq:
        first = report.last_seq + 1
        gap = f"seq {first}" if head.seq == first else f"seqs {first}-{head.seq}"
        v.problem(first, MISSING, f"{gap} missing from the end of the chain")
    elif head.seq < report.last_seq:
        later = head_after() if head_after is not None else None
        if later is None or later.seq < report.last_seq:
            moved = later if later is not None else head
            v.problem(moved.seq + 1, CHANGED, f"the chain head was moved back to seq "
                      f"{moved.seq}, but events run to seq {report.last_seq}")
        elif later.seq == report.last_seq and bytes(later.hash) != stored_prev:
            v.problem(later.seq, CHANGED, "the chain head does not match the last event's hash")
    elif bytes(head.hash) != stored_prev:
        v.problem(head.seq, CHANGED, "the chain head does not match the last event's hash")
    for seq in sorted(v.checkpoints):
        v.check_checkpoint(v.checkpoints[seq], pure_at.get(seq), root_at.get(seq))
    return report


def _check_purges(v: _Verifier, purges: list[PurgeRecord],
                  digests: dict[str, PurgeDigest]) -> None:
    """Each purge record is signed, and covers exactly the removed events filed under
    it; no removed event is filed under a purge with no record."""
    v.report.purges_checked = len(purges)
    known = {p.id for p in purges}
    for purge_id, found in digests.items():
        if purge_id not in known:
            v.problem(0, BAD_SIGNATURE, f"{found.count} event(s) are marked removed by "
                      f"purge {purge_id}, which has no signed record")
    for purge in purges:
        where = purge.first_seq
        public = v.keys.get(purge.key_id)
        payload = purge_payload(v.tenant, purge.id, purge.created_at, purge.events,
                                purge.first_seq, purge.last_seq, purge.start_seq,
                                purge.start_hash, purge.digest, purge.archive_sha256,
                                purge.manifest_sha256, purge.key_id)
        if public is None:
            v.problem(where, BAD_SIGNATURE,
                      f"purge {purge.id} is signed by unknown key {purge.key_id}")
            continue
        if not signature_valid(public, payload, purge.signature):
            v.problem(where, BAD_SIGNATURE,
                      f"the signature of purge {purge.id} does not verify")
            continue
        mine = digests.get(purge.id)
        if mine is None or mine.count != purge.events or mine.digest() != purge.digest:
            v.problem(where, CHANGED, f"the events removed by purge {purge.id} differ from "
                      "what its signed record covers (the hashes kept of them were altered, "
                      "or events were removed outside retention)")
