"""Verification of stored chains, and the public keys that check them."""

from __future__ import annotations

from trailbook.integrity.signing import Signer
from trailbook.integrity.verify import VerifyReport, verify_chain
from trailbook.store.base import Store
from trailbook.store.records import Checkpoint, Tenant


class IntegrityService:
    def __init__(self, store: Store, signer: Signer) -> None:
        self.store = store
        self.signer = signer

    def public_keys(self) -> list[dict[str, str]]:
        return [self.signer.public_description()]

    def verify(self, tenant: Tenant) -> VerifyReport:
        return verify_chain(
            tenant.name,
            self.store.iter_chain(tenant.id),
            self.store.chain_head(tenant.id),
            self.store.list_checkpoints(tenant.id),
            {self.signer.key_id: self.signer.public},
        )

    def checkpoints(self, tenant: Tenant) -> list[Checkpoint]:
        return self.store.list_checkpoints(tenant.id)
