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
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from trailbook.integrity.canonical import canonical_json
from trailbook.integrity.keyring import (
    Keyring,
    RetiredKey,
    create_private,
    pending_path,
    read_keyring,
    write_keyring,
    write_private,
)

if TYPE_CHECKING:
    from trailbook.store.records import Checkpoint


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256(raw).hexdigest()[:16]


def public_key_from_raw(raw_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))


@dataclass(frozen=True)
class Signer:
    """The key that signs new checkpoints, and the retired keys (public halves) whose
    checkpoints still verify."""

    private: Ed25519PrivateKey
    key_id: str
    valid_from: str | None = None  # when it replaced the previous key (None: the first)
    retired: tuple[RetiredKey, ...] = ()

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, payload: bytes) -> bytes:
        return self.private.sign(payload)

    def verification_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key a checkpoint of this trail may be signed with, by key id."""
        keys = {k.key_id: k.public for k in self.retired}
        keys[self.key_id] = self.public
        return keys

    def public_for(self, key_id: str) -> Ed25519PublicKey | None:
        return self.verification_keys().get(key_id)

    def checkpoint_signed(self, tenant: str, checkpoint: Checkpoint) -> bool | None:
        """Whether ``checkpoint`` of ``tenant`` carries a valid signature by the key
        its key id names (this key or one it replaced); None when no such key is
        known here."""
        public = self.public_for(checkpoint.key_id)
        if public is None:
            return None
        payload = checkpoint_payload(tenant, checkpoint.seq, bytes(checkpoint.hash),
                                     checkpoint.created_at, checkpoint.key_id,
                                     checkpoint.tree_root)
        return signature_valid(public, payload, bytes(checkpoint.signature))

    def public_description(self) -> dict[str, Any]:
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
            "valid_from": self.valid_from,
            "valid_until": None,
            "current": True,
        }

    def all_descriptions(self) -> list[dict[str, Any]]:
        """The current key first, then the retired ones, newest first."""
        return [self.public_description(),
                *[k.describe() for k in sorted(self.retired, key=lambda k: k.valid_until,
                                               reverse=True)]]


def _load_private(path: Path) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return loaded


def load_or_create_signer(path: Path, *, create: bool = True) -> Signer:
    """Load the PEM private key at ``path`` with the keyring beside it, generating the
    key (mode 0600) on first run unless ``create`` is false. A rotation cut short
    (the keyring names a new key still waiting at ``<path>.new``) is finished here."""
    ring = read_keyring(path)
    pending = pending_path(path)
    if ring.current_id is not None and pending.exists():
        waiting = _load_private(pending)
        if key_id_of(waiting.public_key()) == ring.current_id:
            os.replace(pending, path)
    if not path.exists() and not create:
        raise FileNotFoundError(f"no signing key at {path}")
    if path.exists():
        loaded = _load_private(path)
        key_id = key_id_of(loaded.public_key())
        if ring.current_id not in (None, key_id):
            raise ValueError(f"{path} holds key {key_id}, but its keyring says the current "
                             f"key is {ring.current_id}")
        return Signer(loaded, key_id, ring.current_from, ring.retired)
    private = Ed25519PrivateKey.generate()
    signer = Signer(private, key_id_of(private.public_key()))
    save_signer(signer, path)
    return signer


def rotate_signer(path: Path, now: str) -> tuple[Signer, Signer]:
    """Replace the signing key at ``path`` by a new one from ``now`` on: (old, new).
    The old key's public half joins the keyring, valid until ``now``."""
    old = load_or_create_signer(path, create=False)
    private = Ed25519PrivateKey.generate()
    new_id = key_id_of(private.public_key())
    retired = (*old.retired, RetiredKey(old.key_id, old.public, old.valid_from, now))
    write_private(pending_path(path), private)
    write_keyring(path, Keyring(new_id, now, retired))
    os.replace(pending_path(path), path)
    return old, Signer(private, new_id, now, retired)


def save_signer(signer: Signer, path: Path) -> None:
    """Write the private key as PEM to a new file only its owner can read, and its
    keyring beside it if it has replaced other keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if signer.retired:
        write_keyring(path, Keyring(signer.key_id, signer.valid_from, signer.retired))
    create_private(path, signer.private)


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
