"""The service's Ed25519 signing key and signed checkpoints.

A checkpoint promises "the chain of this tenant, up to seq, ended in this hash". Its
signed payload is the RFC 8785 form of
``{"hash": hex, "key_id": …, "seq": n, "tenant": name, "time": RFC 3339}``."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from trailbook.integrity.canonical import canonical_json


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256(raw).hexdigest()[:16]


def public_key_from_raw(raw_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    key_id: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, payload: bytes) -> bytes:
        return self.private.sign(payload)

    def public_description(self) -> dict[str, str]:
        pub = self.public
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pem = pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "key_id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(raw).decode(),
            "public_key_pem": pem.decode(),
        }


def load_or_create_signer(path: Path, *, create: bool = True) -> Signer:
    """Load the PEM private key at ``path``, generating it (mode 0600) on first run
    unless ``create`` is false."""
    if not path.exists() and not create:
        raise FileNotFoundError(f"no signing key at {path}")
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return Signer(loaded, key_id_of(loaded.public_key()))
    private = Ed25519PrivateKey.generate()
    signer = Signer(private, key_id_of(private.public_key()))
    save_signer(signer, path)
    return signer


def save_signer(signer: Signer, path: Path) -> None:
    """Write the private key as PEM to a new file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = signer.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def checkpoint_payload(tenant: str, seq: int, chain_hash: bytes, time: str, key_id: str,
                       tree_root: bytes | None = None) -> bytes:
    """The bytes a checkpoint's signature covers: the canonical JSON of the tenant, the
    chain head (seq, hash), the time and the key, and, since the Merkle tree, the
    tree's size (= seq) and root. A checkpoint made before the tree has no tree fields
    and its signature covers the rest."""
    body: dict[str, Any] = {
        "hash": chain_hash.hex(),
        "key_id": key_id,
        "seq": seq,
        "tenant": tenant,
        "time": time,
    }
    if tree_root is not None:
        body["tree_root"] = tree_root.hex()
        body["tree_size"] = seq
    return canonical_json(body, exact=False)


def signature_valid(public: Ed25519PublicKey, payload: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, payload)
    except InvalidSignature:
        return False
    return True
