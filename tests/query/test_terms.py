"""Key tokens are stored in the full-text index of every existing trail, so the way
they are made must never change: one fixed value, and the definition, checked."""

from __future__ import annotations

from hashlib import blake2b

from hypothesis import given
from hypothesis import strategies as st

from trailbook.query import terms as T


def test_a_token_keeps_its_value() -> None:
    assert T.token(T.REQUEST_ID, 1, "req-1") == "rqae68ce802ab99059"
    assert len(T.token(T.SESSION_ID, 7, "")) == 18


@given(st.sampled_from([T.REQUEST_ID, T.SESSION_ID, T.ACTOR_EMAIL, T.IP]),
       st.integers(min_value=1, max_value=10**6), st.text(max_size=60))
def test_token_is_blake2b_of_tenant_and_value(code: str, tenant: int, value: str) -> None:
    expected = blake2b(f"{tenant}\x1f{value}".encode(), digest_size=8,
                       person=code.encode()).hexdigest()
    assert T.token(code, tenant, value) == code + expected
    assert T.key_token(code, tenant, value) == code + expected
