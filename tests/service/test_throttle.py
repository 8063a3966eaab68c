"""Brute-force protection (service/access/throttle.py): when failed sign-ins lock an
account or an address, for how long, and when the lock has passed."""

from __future__ import annotations

from collections import defaultdict

from trailbook.service.access.throttle import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    MAX_LOCK_US,
    WINDOW_US,
    Lock,
    current_lock,
    lock_after,
)

T0 = 1_780_000_000_000_000
SECOND = 1_000_000
BASE = 60 * SECOND  # TRAILBOOK_LOGIN_LOCK_SECONDS' default


def times(n: int, start: int = T0, step: int = SECOND) -> list[int]:
    return [start + i * step for i in range(n)]


def test_the_limits_are_five_per_account_and_twenty_per_address() -> None:
    assert (ACCOUNT_LIMIT, ADDRESS_LIMIT) == (5, 20)
    assert WINDOW_US == 15 * 60 * SECOND
    assert MAX_LOCK_US == 60 * 60 * SECOND


def test_no_failures_and_four_failures_lock_nothing() -> None:
    assert lock_after([], ACCOUNT_LIMIT, BASE) is None
    assert lock_after(times(4), ACCOUNT_LIMIT, BASE) is None
    assert current_lock(times(4), times(4), BASE, T0 + 4 * SECOND) is None


def test_the_fifth_failure_locks_for_the_base_interval() -> None:
    failures = times(5)
    assert lock_after(failures, ACCOUNT_LIMIT, BASE) == (failures[-1] + BASE, 5)
    lock = current_lock(failures, [], BASE, failures[-1])
    assert lock == Lock(failures[-1] + BASE, "account", 5)


def test_each_further_failure_doubles_the_lock() -> None:
    for n, factor in ((5, 1), (6, 2), (7, 4), (8, 8), (9, 16)):
        failures = times(n)
        assert lock_after(failures, ACCOUNT_LIMIT, BASE) == (failures[-1] + factor * BASE, n)


def test_failures_before_the_window_do_not_count() -> None:
    # Four early failures and one exactly 15 minutes after the first: the first has
    # left the window (it ends just after newest - 15 min), so four count.
    early = times(4)
    newest = early[0] + WINDOW_US
    assert lock_after([*early, newest], ACCOUNT_LIMIT, BASE) is None
    assert current_lock([*early, newest], [], BASE, newest) is None
    # One microsecond sooner, all five are inside it.
    sooner = newest - 1
    assert lock_after([*early, sooner], ACCOUNT_LIMIT, BASE) == (sooner + BASE, 5)
    # Many old failures do not add to the doubling either.
    old = times(30, start=T0 - 2 * WINDOW_US)
    assert lock_after([*old, *times(5)], ACCOUNT_LIMIT, BASE) == (T0 + 4 * SECOND + BASE, 5)


def test_twenty_failures_from_one_address_lock_across_emails() -> None:
    # 20 failed sign-ins from one address, four for each of five emails: no account
    # reaches its limit, the address does.
    by_email: dict[str, list[int]] = defaultdict(list)
    from_address = []
    for i, at in enumerate(times(20)):
        by_email[f"user{i % 5}@example.com"].append(at)
        from_address.append(at)
    newest = from_address[-1]
    for failures in by_email.values():
        assert len(failures) == 4
        assert current_lock(failures, from_address[:19], BASE, newest) is None
        assert current_lock(failures, from_address, BASE, newest) == Lock(
            newest + BASE, "address", 20)
    assert lock_after(from_address[:19], ADDRESS_LIMIT, BASE) is None
    assert lock_after(from_address, ADDRESS_LIMIT, BASE) == (newest + BASE, 20)
    assert lock_after([*from_address, newest + 1], ADDRESS_LIMIT, BASE) == (
        newest + 1 + 2 * BASE, 21)


def test_the_longer_lock_of_account_and_address_wins() -> None:
    account = times(7)  # 4 * base
    address = times(20)  # 1 * base, ends later
    lock = current_lock(account, address, BASE, T0)
    assert lock == Lock(account[-1] + 4 * BASE, "account", 7)
    address = times(22)  # 4 * base from a later failure
    lock = current_lock(account, address, BASE, T0)
    assert lock == Lock(address[-1] + 4 * BASE, "address", 22)


def test_the_lock_is_at_most_an_hour() -> None:
    # 60 s doubles to 3840 s at the eleventh failure: capped to 3600 s.
    assert lock_after(times(10), ACCOUNT_LIMIT, BASE) == (T0 + 9 * SECOND + 32 * BASE, 10)
    assert lock_after(times(11), ACCOUNT_LIMIT, BASE) == (T0 + 10 * SECOND + MAX_LOCK_US, 11)
    for n in (12, 30, 200):
        failures = times(n, step=1000)
        assert lock_after(failures, ACCOUNT_LIMIT, BASE) == (failures[-1] + MAX_LOCK_US, n)
    # The address limit doubles the same way: 20 → base, 26 → 64 * base, capped.
    assert lock_after(times(25), ADDRESS_LIMIT, BASE) == (T0 + 24 * SECOND + 32 * BASE, 25)
    assert lock_after(times(26), ADDRESS_LIMIT, BASE) == (T0 + 25 * SECOND + MAX_LOCK_US, 26)
    # A base longer than an hour is capped too.
    assert lock_after(times(5), ACCOUNT_LIMIT, 2 * MAX_LOCK_US) == (
        T0 + 4 * SECOND + MAX_LOCK_US, 5)


def test_current_lock_ends_when_the_lock_has_passed() -> None:
    failures = times(6)
    until = failures[-1] + 2 * BASE
    assert current_lock(failures, [], BASE, failures[-1]) == Lock(until, "account", 6)
    assert current_lock(failures, [], BASE, until - 1) == Lock(until, "account", 6)
    assert current_lock(failures, [], BASE, until) is None
    assert current_lock(failures, [], BASE, until + 3600 * SECOND) is None
    address = times(20)
    assert current_lock([], address, BASE, address[-1] + BASE) is None
