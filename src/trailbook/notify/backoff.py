"""When to try a failed delivery again: exponential backoff with equal jitter."""

from __future__ import annotations

import math
import random

# Past this many doublings every sensible cap is reached (and 2.0**n stays finite).
_MAX_DOUBLINGS = 64


def next_delay(attempts: int, base: float, cap: float, retry_after: float | None = None,
               rng: random.Random | None = None) -> float:
    """Seconds to wait before the next attempt, after ``attempts`` failed ones (1 for
    the first failure).

    The step is ``base * 2**(attempts - 1)``, at most ``cap``; the delay is half the
    step plus a random share of the other half (equal jitter), so retries of many
    deliveries spread out yet never come sooner than half the step. A receiver's
    ``retry_after`` (seconds) is honoured: the delay is never less, even above ``cap``.
    ``rng`` makes the jitter reproducible; without it the module's generator is used."""
    if not (math.isfinite(base) and base >= 0):
        raise ValueError(f"base must be a finite number >= 0, not {base!r}")
    if not (math.isfinite(cap) and cap >= 0):
        raise ValueError(f"cap must be a finite number >= 0, not {cap!r}")
    doublings = min(max(attempts, 1) - 1, _MAX_DOUBLINGS)
    step = min(cap, base * 2.0**doublings)
    half = step / 2
    delay = half + (rng or random).uniform(0.0, half)
    delay = min(delay, step)  # uniform() may round past its upper bound
    if retry_after is not None and math.isfinite(retry_after) and retry_after > delay:
        delay = float(retry_after)
    return delay
