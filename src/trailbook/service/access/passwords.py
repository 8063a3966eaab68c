"""Password hashing (argon2id, argon2-cffi) and the password policy."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trailbook.errors import field_error

MIN_LENGTH = 12
MAX_LENGTH = 256


def check_policy(password: str, email: str, field: str = "password") -> None:
    """Refuse a password that breaks the policy, naming ``field`` and why."""
    if len(password) < MIN_LENGTH:
        raise field_error(field, f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise field_error(field, f"use at most {MAX_LENGTH} characters")
    lowered = password.strip().lower()
    local = email.lower().partition("@")[0]
    if lowered in (email.lower(), local):
        raise field_error(field, "must not be the email address or its name part")
    if len(set(password)) < 4:
        raise field_error(field, "use more than three different characters")


def one_time_password() -> str:
    """A random password to hand out once (about 120 bits)."""
    return secrets.token_urlsafe(15)


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=1)
        # Verified against when the email is unknown, so that the answer takes as long
        # as for a known one and its timing does not tell them apart.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._decoy, password) and (
                stored_hash is not None)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
