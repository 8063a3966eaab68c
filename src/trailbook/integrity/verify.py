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
from trailbook.integrity.signing import checkpoint_payload, signature_valid
from trailbook.model.timefmt import parse_rfc3339
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
) -> VerifyReport:
    """Recompute the chain over ``rows`` and check it against ``head`` and the signed
    ``checkpoints``. A live trail grows while it is read: with ``head_after`` (the head
    read again once the rows are read), events past ``head`` are a problem only when
    the head read afterwards does not reach them either."""
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
    for row in rows:
        if row.seq < expected:
            v.problem(row.seq, REORDERED, f"seq {row.seq} appears twice")
            continue
        if row.seq > expected:
            gap = f"seq {expected}" if row.seq == expected + 1 else f"seqs {expected}-{row.seq - 1}"
            v.problem(expected, MISSING, f"{gap} missing from the chain")
            # The row after a gap cannot be linked; check the rest, carry on from its hash.
            v.check_row(row, None)
            stored_prev = bytes(row.hash)
            pure = bytes(row.hash)
        else:
            v.check_row(row, stored_prev)
            stored_prev = bytes(row.hash)
            pure = link(pure, row.doc)
        if rooted:
            pending.append(leaf_of(row.doc))
            if row.seq in rooted or len(pending) >= 10_000:
                frontier, _ = append_leaves(frontier, pending)
                pending = []
            if row.seq in rooted:
                root_at[row.seq] = root_from_frontier(frontier)
        if row.seq in v.checkpoints:
            pure_at[row.seq] = pure
        report.events_checked += 1
        report.last_seq = row.seq
        expected = row.seq + 1
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
