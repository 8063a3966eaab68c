"""Verification of stored chains, the seal of one event, and the public keys that check
them. A verification asked for by a caller is recorded in the tenant's trail, which is
where the console finds the last one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from trailbook.integrity.chain import GENESIS, link
from trailbook.integrity.merkle import verify_inclusion
from trailbook.integrity.merkle_store import leaf_of
from trailbook.integrity.signing import Signer
from trailbook.integrity.verify import VerifyReport, verify_chain
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import RequestContext, SelfAudit
from trailbook.service.access.principal import Principal
from trailbook.store.base import Store
from trailbook.store.records import ChainHead, Checkpoint, StoredEvent, Tenant

VERIFY_ACTION = "integrity.verify"


@dataclass(frozen=True)
class EventSeal:
    """What can be proved about one stored event, here and now."""

    seq: int
    hash: bytes
    previous: bytes | None  # the predecessor's hash (GENESIS before seq 1); None: missing
    linked: bool  # SHA-256(previous || canonical form) is the stored hash
    checkpoint: Checkpoint | None  # the first signed checkpoint at or after seq
    signature_valid: bool  # that checkpoint's Ed25519 signature verifies
    # The event's Merkle inclusion proof against the root that checkpoint signs, and
    # whether it verifies; None for a checkpoint signed before the tree existed.
    proof: list[bytes] | None = None
    included: bool = False

    @property
    def proven(self) -> bool:
        return self.linked and self.signature_valid and self.included


@dataclass(frozen=True)
class Verification:
    """The newest verification recorded in the trail."""

    at: str
    ok: bool
    by: str
    detail: dict[str, Any]


def verify_store(store: Store, signer: Signer, tenant: Tenant) -> VerifyReport:
    """Recompute ``tenant``'s chain in ``store`` and check it against its checkpoints.
    The checkpoints are read first and the head before the events, so what a running
    server adds meanwhile is checked as far as it was read, and not taken for a head
    moved back."""
    checkpoints = store.list_checkpoints(tenant.id)
    head = store.chain_head(tenant.id)
    return verify_chain(tenant.name, store.iter_chain(tenant.id), head, checkpoints,
                        signer.verification_keys(),
                        head_after=lambda: store.chain_head(tenant.id),
                        purged=store.purges.rows(tenant.id),
                        purges=lambda: store.purges.records(tenant.id))


class IntegrityService:
    def __init__(self, store: Store, signer: Signer, audit: SelfAudit) -> None:
        self.store = store
        self.signer = signer
        self.audit = audit

    def public_keys(self) -> list[dict[str, Any]]:
        return self.signer.all_descriptions()

    def verify(self, tenant: Tenant) -> VerifyReport:
        return verify_store(self.store, self.signer, tenant)

    def verify_for(self, principal: Principal, context: RequestContext) -> VerifyReport:
        """Verify the caller's tenant; a verification by staff is recorded, with its
        outcome (as their searches are; a machine's are not)."""
        principal.require("integrity.verify")
        report = self.verify(principal.tenant)
        if not principal.is_staff:
            return report
        first = report.first_problem
        self.audit.access(
            principal, context, VERIFY_ACTION, "execute",
            result="success" if report.ok else "failure",
            severity="info" if report.ok else "critical",
            reason=None if first is None else f"seq {first.seq}: {first.kind}: {first.detail}",
            metadata={"events_checked": report.events_checked, "last_seq": report.last_seq,
                      "checkpoints_checked": report.checkpoints_checked,
                      "problems": len(report.problems)})
        return report

    def last_verification(self, tenant: Tenant) -> Verification | None:
        found = self.store.search(
            tenant.id, EventFilter(categories=("access",), actions=(VERIFY_ACTION,)), None, 1)
        if not found:
            return None
        doc = orjson.loads(found[0].doc)
        actor = doc.get("actor") or {}
        return Verification(at=doc["received_at"], ok=doc["result"] == "success",
                            by=actor.get("email") or actor.get("name") or actor.get("id", ""),
                            detail=doc.get("metadata") or {})

    def head(self, tenant: Tenant) -> ChainHead | None:
        return self.store.chain_head(tenant.id)

    def checkpoints(self, tenant: Tenant) -> list[Checkpoint]:
        return self.store.list_checkpoints(tenant.id)

    def _signed(self, tenant: Tenant, checkpoint: Checkpoint) -> bool:
        return bool(self.signer.checkpoint_signed(tenant.name, checkpoint))

    def seal_of(self, tenant: Tenant, event: StoredEvent) -> EventSeal:
        """Link ``event`` to its predecessor, and prove it is in the Merkle tree of the
        first signed checkpoint covering it: that it is what was signed."""
        previous: bytes | None = GENESIS
        if event.seq > 1:
            before = list(self.store.chain_links(tenant.id, event.seq - 2, event.seq - 1))
            previous = bytes(before[0][2]) if before else None
        linked = previous is not None and link(previous, bytes(event.doc)) == bytes(event.hash)
        checkpoint = next((c for c in self.store.list_checkpoints(tenant.id)
                           if c.seq >= event.seq), None)
        if checkpoint is None:
            return EventSeal(event.seq, bytes(event.hash), previous, linked, None, False)
        signed = self._signed(tenant, checkpoint)
        if checkpoint.tree_root is None:
            return EventSeal(event.seq, bytes(event.hash), previous, linked, checkpoint,
                             signed)
        index = event.seq - 1
        proof = self.store.merkle.inclusion(tenant.id, index, checkpoint.seq)
        included = verify_inclusion(leaf_of(bytes(event.doc)), index, checkpoint.seq, proof,
                                    checkpoint.tree_root)
        return EventSeal(event.seq, bytes(event.hash), previous, linked, checkpoint, signed,
                         proof, included)
