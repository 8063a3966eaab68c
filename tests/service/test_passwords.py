"""Passwords (service/access/passwords.py): the policy, and argon2id hashing."""

from __future__ import annotations

import pytest

from trailbook.errors import ValidationFailed
from trailbook.service.access.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    Passwords,
    check_policy,
    one_time_password,
)

EMAIL = "Maintenance.Lead@Example.com"
GOOD = "correct horse battery staple"


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(time_cost=1, memory_kib=64)


def refused(password: str, field: str = "password", email: str = EMAIL) -> str:
    with pytest.raises(ValidationFailed) as caught:
        check_policy(password, email, field)
    assert caught.value.details[0].field == field
    return caught.value.details[0].reason


def test_the_limits() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 256)


@pytest.mark.parametrize("field", ["password", "new_password"])
def test_too_short_and_too_long_are_refused(field: str) -> None:
    assert "at least 12" in refused("a1b2c3d4e5f", field)  # 11 characters
    assert "at most 256" in refused("abcd" * 64 + "e", field)  # 257
    check_policy("a1b2c3d4e5f6", EMAIL, field)  # 12
    check_policy("abcd" * 64, EMAIL, field)  # 256


@pytest.mark.parametrize("password", [
    "maintenance.lead@example.com", "MAINTENANCE.LEAD@EXAMPLE.COM", EMAIL,
    "maintenance.lead", "Maintenance.Lead", "MAINTENANCE.LEAD", "  maintenance.lead  ",
])
@pytest.mark.parametrize("field", ["password", "new_password"])
def test_the_email_or_its_name_part_is_refused(password: str, field: str) -> None:
    assert "email" in refused(password, field)


def test_a_password_that_merely_contains_the_email_passes() -> None:
    check_policy("maintenance.lead-2026!", EMAIL)
    check_policy("maintenance.lead@example.com.x", EMAIL)


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abababababab", "abcabcabcabc",
                                      "112211221122"])
@pytest.mark.parametrize("field", ["password", "new_password"])
def test_three_distinct_characters_or_fewer_are_refused(password: str, field: str) -> None:
    assert "three" in refused(password, field)


def test_a_good_password_passes() -> None:
    for password in (GOOD, "abcdabcdabcd", "Zq8#Zq8#Zq8#", one_time_password()):
        check_policy(password, EMAIL)
        check_policy(password, EMAIL, "new_password")


def test_one_time_passwords_are_random_and_pass_the_policy() -> None:
    made = {one_time_password() for _ in range(20)}
    assert len(made) == 20
    for password in made:
        assert len(password) == 20
        check_policy(password, EMAIL)


def test_hashes_are_argon2id_and_verify(passwords: Passwords) -> None:
    stored = passwords.hash(GOOD)
    assert stored.startswith("$argon2id$")
    assert "m=64,t=1,p=1" in stored
    assert GOOD not in stored
    assert passwords.hash(GOOD) != stored  # salted
    assert passwords.verify(stored, GOOD) is True
    assert passwords.verify(stored, GOOD + " ") is False
    assert passwords.verify(stored, GOOD.upper()) is False
    assert passwords.verify(stored, "") is False


def test_no_stored_hash_or_a_broken_one_verifies_nothing(passwords: Passwords) -> None:
    assert passwords.verify(None, GOOD) is False
    assert passwords.verify(None, "") is False
    assert passwords.verify("", GOOD) is False
    assert passwords.verify("not a hash", GOOD) is False
    assert passwords.verify("$argon2id$v=19$m=64,t=1,p=1$broken", GOOD) is False


def test_a_hash_with_other_costs_needs_rehashing(passwords: Passwords) -> None:
    assert passwords.needs_rehash(passwords.hash(GOOD)) is False
    for other in (Passwords(time_cost=2, memory_kib=64), Passwords(time_cost=1,
                                                                   memory_kib=128)):
        stored = other.hash(GOOD)
        assert passwords.needs_rehash(stored) is True
        assert passwords.verify(stored, GOOD) is True  # still verifies, with its own costs
