"""Merkle proofs (RFC 9162) against signed checkpoints: that one event is in the tree a
checkpoint signed (inclusion), and that a later checkpoint's tree extends an earlier
one's without changing it (consistency). With the checkpoints' signatures, a third
party needs nothing from this server but the answer to check either
(``trailbook.integrity.merkle.verify_inclusion`` / ``verify_consistency``)."""

from __future__ import annotations

from dataclasses import dataclass

from trailbook.errors import ErrorDetail, NotFound, ValidationFailed
from trailbook.integrity.merkle_store import leaf_of
from trailbook.service.access.principal import Principal
from trailbook.service.access.reading import ReadService
from trailbook.store.base import Store
from trailbook.store.records import Checkpoint, StoredEvent


@dataclass(frozen=True)
class InclusionProof:
    event: StoredEvent
    leaf_index: int
    leaf_hash: bytes
    checkpoint: Checkpoint  # signs tree_size (= its seq) and tree_root
    path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old: Checkpoint
    new: Checkpoint
    path: list[bytes]


class ProofService:
    def __init__(self, store: Store, reads: ReadService) -> None:
        self.store = store
        self.reads = reads

    def _rooted(self, principal: Principal) -> list[Checkpoint]:
        return [c for c in self.store.list_checkpoints(principal.tenant.id)
                if c.tree_root is not None]

    def _checkpoint_at(self, principal: Principal, seq: int, field: str) -> Checkpoint:
        found = next((c for c in self._rooted(principal) if c.seq == seq), None)
        if found is None:
            raise NotFound("no signed checkpoint with a Merkle root at that seq",
                           [ErrorDetail(field, f"{seq}: see GET /api/v1/checkpoints")])
        return found

    def inclusion(self, principal: Principal, event_id: str,
                  checkpoint_seq: int | None = None) -> InclusionProof:
        """The audit path of ``event_id`` in the tree of the checkpoint at
        ``checkpoint_seq``, or of the first checkpoint that covers the event."""
        principal.require("integrity.verify")
        event = self.reads.readable(principal, event_id)
        if checkpoint_seq is None:
            checkpoint = next((c for c in self._rooted(principal) if c.seq >= event.seq), None)
            if checkpoint is None:
                raise NotFound("no signed checkpoint covers this event yet", [ErrorDetail(
                    "checkpoint", f"the event has seq {event.seq}; checkpoints are signed "
                    "every few seconds while events arrive")])
        else:
            checkpoint = self._checkpoint_at(principal, checkpoint_seq, "checkpoint")
            if checkpoint.seq < event.seq:
                raise ValidationFailed("that checkpoint was signed before the event", [
                    ErrorDetail("checkpoint", f"{checkpoint.seq} < the event's seq "
                                              f"{event.seq}")])
        index = event.seq - 1
        path = self.store.merkle.inclusion(principal.tenant.id, index, checkpoint.seq)
        return InclusionProof(event, index, leaf_of(bytes(event.doc)), checkpoint, path)

    def consistency(self, principal: Principal, old_seq: int, new_seq: int
                    ) -> ConsistencyProof:
        """The proof that the tree of the checkpoint at ``new_seq`` extends the one at
        ``old_seq``."""
        principal.require("integrity.verify")
        if old_seq > new_seq:
            raise ValidationFailed("from must not be after to", [
                ErrorDetail("from", f"{old_seq} > to ({new_seq})")])
        old = self._checkpoint_at(principal, old_seq, "from")
        new = self._checkpoint_at(principal, new_seq, "to")
        path = self.store.merkle.consistency(principal.tenant.id, old.seq, new.seq)
        return ConsistencyProof(old, new, path)
