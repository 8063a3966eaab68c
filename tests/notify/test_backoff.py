"""Retry delays of failed deliveries: exponential, capped, jittered, and never sooner
than a receiver's Retry-After."""

from __future__ import annotations

import math
import random

import pytest

from trailbook.notify.backoff import next_delay

BASE, CAP = 5.0, 3600.0


class Lowest(random.Random):
    """Jitter that always draws its lower bound."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Highest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_grows_exponentially() -> None:
    low = [next_delay(n, BASE, CAP, rng=Lowest()) for n in range(1, 8)]
    high = [next_delay(n, BASE, CAP, rng=Highest()) for n in range(1, 8)]
    assert high == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0]  # base * 2**(n-1)
    assert low == [h / 2 for h in high]  # equal jitter: half of the step is fixed


def test_is_capped() -> None:
    for attempts in (11, 12, 50, 1000, 10**9):  # 5 * 2**10 > 3600
        assert next_delay(attempts, BASE, CAP, rng=Highest()) == CAP
        assert next_delay(attempts, BASE, CAP, rng=Lowest()) == CAP / 2
        assert CAP / 2 <= next_delay(attempts, BASE, CAP) <= CAP


def test_has_jitter_within_its_bounds() -> None:
    rng = random.Random(7)
    for attempts in range(1, 13):
        step = min(CAP, BASE * 2 ** (attempts - 1))
        delays = [next_delay(attempts, BASE, CAP, rng=rng) for _ in range(500)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len(set(delays)) > 450  # spread, not one value
        assert min(delays) < step * 0.55 and max(delays) > step * 0.95


def test_honours_retry_after() -> None:
    rng = random.Random(1)
    assert next_delay(1, BASE, CAP, retry_after=120.0, rng=rng) == 120.0
    assert next_delay(1, BASE, CAP, retry_after=7200.0, rng=rng) == 7200.0  # above the cap
    # A shorter Retry-After does not shorten the backoff.
    assert next_delay(5, BASE, CAP, retry_after=1.0, rng=Lowest()) == 40.0
    assert next_delay(5, BASE, CAP, retry_after=None, rng=Lowest()) == 40.0
    assert next_delay(5, BASE, CAP, retry_after=-3.0, rng=Lowest()) == 40.0
    assert next_delay(5, BASE, CAP, retry_after=math.nan, rng=Lowest()) == 40.0


def test_is_deterministic_with_a_seeded_rng() -> None:
    first = [next_delay(n, BASE, CAP, rng=random.Random(42)) for n in range(1, 20)]
    again = [next_delay(n, BASE, CAP, rng=random.Random(42)) for n in range(1, 20)]
    assert first == again
    one, two = random.Random(3), random.Random(3)
    assert [next_delay(4, BASE, CAP, rng=one) for _ in range(10)] == \
        [next_delay(4, BASE, CAP, rng=two) for _ in range(10)]
    assert first != [next_delay(n, BASE, CAP, rng=random.Random(43)) for n in range(1, 20)]


def test_edge_inputs() -> None:
    assert next_delay(0, BASE, CAP, rng=Highest()) == BASE  # as the first failure
    assert next_delay(3, BASE, 1.0, rng=Highest()) == 1.0  # a cap below base wins
    assert next_delay(3, 0.0, CAP) == 0.0
    for base, cap in ((-1.0, CAP), (BASE, -1.0), (math.inf, CAP), (BASE, math.nan)):
        with pytest.raises(ValueError):
            next_delay(1, base, cap)
