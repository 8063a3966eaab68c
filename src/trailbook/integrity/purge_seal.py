"""What a purge's signature covers. A purge (a batch of a retention run) removes events
for good; it keeps, per removed event, its seq, chain hash and Merkle leaf, and signs
one record over them all, so the events still stored verify from the hashes kept of
those removed, and no one without the key can pass off a removal as retention.

``digest`` = SHA-256 over, per removed event in seq order, its seq (8 bytes, big
endian), chain hash (32) and leaf hash (32). The signature is Ed25519 over the RFC
8785 form of ``purge_payload``."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from trailbook.integrity.canonical import canonical_json


class PurgeDigest:
    """The running digest of one purge's removed events, fed in seq order."""

    def __init__(self) -> None:
        self._hash = sha256()
        self.count = 0

    def add(self, seq: int, chain_hash: bytes, leaf: bytes) -> None:
        self._hash.update(seq.to_bytes(8, "big") + chain_hash + leaf)
        self.count += 1

    def digest(self) -> bytes:
        return self._hash.digest()


def purge_payload(tenant: str, purge_id: str, time: str, events: int, first_seq: int,
                  last_seq: int, start_seq: int, start_hash: bytes, digest: bytes,
                  archive_sha256: str, manifest_sha256: str, key_id: str) -> bytes:
    body: dict[str, Any] = {
        "kind": "purge",
        "tenant": tenant,
        "id": purge_id,
        "time": time,
        "events": events,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "start": {"seq": start_seq, "hash": start_hash.hex()},
        "digest": digest.hex(),
        "archive_sha256": archive_sha256,
        "manifest_sha256": manifest_sha256,
        "key_id": key_id,
    }
    return canonical_json(body, exact=False)
