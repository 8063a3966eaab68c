"""Brute-force protection for sign-in: after 5 failed sign-ins for one account, or 20
from one address, within 15 minutes, further attempts are refused for an interval that
doubles with every further failure (from ``base`` up to an hour).

Failures count whether or not the email belongs to an account, so a refusal tells an
attacker nothing about which addresses exist."""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_US = 15 * 60 * 1_000_000
MAX_LOCK_US = 60 * 60 * 1_000_000
# How far back failures can matter: a window, plus the longest lock after it.
LOOK_BACK_US = WINDOW_US + MAX_LOCK_US


@dataclass(frozen=True, slots=True)
class Lock:
    until_us: int
    reason: str  # "account" or "address"
    failures: int


def lock_after(failures: list[int], limit: int, base_us: int) -> tuple[int, int] | None:
    """(locked until, failures in the window) for failure times (oldest first), or None
    when they lock nothing. The window is the 15 minutes up to the newest failure; each
    failure past ``limit - 1`` doubles the lock."""
    if not failures:
        return None
    newest = failures[-1]
    recent = sum(1 for at in failures if at > newest - WINDOW_US)
    if recent < limit:
        return None
    return newest + min(base_us << min(recent - limit, 20), MAX_LOCK_US), recent


def current_lock(account: list[int], address: list[int], base_us: int,
                 now_us: int) -> Lock | None:
    """The lock in force at ``now_us``, if any (the longer of the two)."""
    found = []
    for reason, failures, limit in (("account", account, ACCOUNT_LIMIT),
                                    ("address", address, ADDRESS_LIMIT)):
        lock = lock_after(failures, limit, base_us)
        if lock is not None and lock[0] > now_us:
            found.append(Lock(lock[0], reason, lock[1]))
    return max(found, key=lambda lk: lk.until_us, default=None)
