"""Signing-key rotation: the public keys a trail's checkpoints were ever signed with,
and when each was in use.

The private key stays where it always was (``signing-key.pem``, or
``TRAILBOOK_SIGNING_KEY_PATH``). Beside it, ``<name>.keyring.json`` lists the keys it
replaced (public halves only) with their validity, so that checkpoints signed by an
old key keep verifying. Rotating writes the new key to ``<name>.new`` first, then the
keyring, then moves the new key into place: a rotation cut short is finished the next
time the key is loaded. The old private key is gone afterwards: nobody can sign in its
name any more, which is the point of rotating."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


@dataclass(frozen=True)
class RetiredKey:
    key_id: str
    public: Ed25519PublicKey
    valid_from: str | None  # None: since the trail began (before rotation existed)
    valid_until: str

    def describe(self) -> dict[str, object]:
        raw = self.public.public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)
        pem = self.public.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"key_id": self.key_id, "algorithm": "Ed25519",
                "public_key": base64.b64encode(raw).decode(),
                "public_key_pem": pem.decode(), "valid_from": self.valid_from,
                "valid_until": self.valid_until, "current": False}


@dataclass(frozen=True)
class Keyring:
    current_id: str | None
    current_from: str | None
    retired: tuple[RetiredKey, ...]


def keyring_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.stem + ".keyring.json")


def pending_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".new")


def read_keyring(key_path: Path) -> Keyring:
    path = keyring_path(key_path)
    if not path.exists():
        return Keyring(None, None, ())
    try:
        doc = orjson.loads(path.read_bytes())
        retired = tuple(
            RetiredKey(str(k["key_id"]),
                       Ed25519PublicKey.from_public_bytes(base64.b64decode(k["public_key"])),
                       k.get("valid_from"), str(k["valid_until"]))
            for k in doc.get("retired", []))
        current = doc.get("current") or {}
        return Keyring(current.get("key_id"), current.get("valid_from"), retired)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a Trailbook keyring: {exc}") from None


def write_keyring(key_path: Path, ring: Keyring) -> None:
    doc = {
        "current": {"key_id": ring.current_id, "valid_from": ring.current_from},
        "retired": [{"key_id": k.key_id,
                     "public_key": base64.b64encode(k.public.public_bytes(
                         serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode(),
                     "valid_from": k.valid_from, "valid_until": k.valid_until}
                    for k in ring.retired],
    }
    path = keyring_path(key_path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    os.replace(temporary, path)


def private_pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def create_private(path: Path, private: Ed25519PrivateKey) -> None:
    """The key as PEM in a new file only its owner can read; an existing file is never
    overwritten (FileExistsError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem(private))


def write_private(path: Path, private: Ed25519PrivateKey) -> None:
    """As ``create_private``, replacing a file left by a failed attempt (only for the
    pending key of a rotation)."""
    path.unlink(missing_ok=True)
    create_private(path, private)
