"""When things happen: bursts start more often in working hours than at night or at
weekends, overlap, and are merged into one stream in ascending ``occurred_at`` order.
``demo_events`` is the entry point.
"""

from __future__ import annotations

import heapq
import math
import time
from bisect import bisect_right
from collections.abc import Iterator
from itertools import pairwise
from random import Random
from typing import Any

from trailbook.model.timefmt import now_us
from trailbook.service.demo.bursts import Bursts, plan_burst
from trailbook.service.demo.run import DAY, HOUR, MACHINE, SECOND, SESSION, Burst, Json, Run

# Relative activity per UTC hour: the companies sit between UTC+5 (Kazakhstan) and
# UTC+0 (Ireland), so the day starts early and ends late; machines work all night.
_DIURNAL = (
    0.30, 0.28, 0.28, 0.35, 0.55, 0.80, 1.00, 1.10, 1.20, 1.25, 1.25, 1.20,
    1.15, 1.20, 1.25, 1.20, 1.05, 0.90, 0.75, 0.62, 0.52, 0.45, 0.38, 0.33,
)  # fmt: skip
_WEEKEND = 0.45


def _warp_table(start_us: int, end_us: int) -> tuple[list[int], list[float]]:
    """Hour buckets from start to end with their cumulative activity weight."""
    bounds = [start_us]
    edge = (start_us // HOUR + 1) * HOUR
    while edge < end_us:
        bounds.append(edge)
        edge += HOUR
    bounds.append(end_us)
    cum = [0.0]
    total = 0.0
    for a, b in pairwise(bounds):
        weekday = (a // DAY + 3) % 7  # 1970-01-01 was a Thursday
        weight = _DIURNAL[(a // HOUR) % 24] * (_WEEKEND if weekday >= 5 else 1.0)
        total += weight * (b - a)
        cum.append(total)
    return bounds, cum


def demo_events(
    count: int, *, seed: int = 7, end_us: int | None = None, span_days: float = 30.0
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` demo events (``EventIn`` inputs as JSON-compatible dicts), in
    ascending ``occurred_at`` order, spread over ``span_days`` ending at ``end_us``
    (microseconds since the epoch; default: now). Deterministic for ``seed`` and
    ``end_us``. No server-owned fields and no ``idempotency_key`` are set."""
    if count < 0:
        raise ValueError("count must not be negative")
    if not span_days > 0 or math.isinf(span_days):
        raise ValueError("span_days must be a positive number")
    if end_us is None:
        end_us = now_us()
    start_us = end_us - int(span_days * DAY)
    if start_us < 0:
        raise ValueError("the span must not start before 1970")
    return _generate(count, seed, start_us, end_us)


def _generate(count: int, seed: int, start_us: int, end_us: int) -> Iterator[Json]:
    if count == 0:
        return
    master = Random(seed)
    plan_seed = master.getrandbits(64)
    time_rng = Random(master.getrandbits(64))
    run = Run(master.getrandbits(64))
    bursts = Bursts(run)

    # Count the bursts that hold ``count`` events, then replay the same plan.
    plan = Random(plan_seed)
    planned = burst_count = 0
    while planned < count:
        planned += plan_burst(plan)[1]
        burst_count += 1
    plan = Random(plan_seed)

    bounds, cum = _warp_table(start_us, end_us)
    total = cum[-1]
    last_bucket = len(bounds) - 2
    trand = time_rng.random
    rng = run.random
    log = math.log

    def burst_start(left: int, rest: float) -> tuple[int, float]:
        # Ascending uniform order statistics, one at a time (``rest`` is 1 - the last),
        # mapped through the activity curve (monotone, so the order is kept).
        rest *= trand() ** (1.0 / left)
        target = (1.0 - rest) * total
        i = min(bisect_right(cum, target) - 1, last_bucket)
        a, b = bounds[i], bounds[i + 1]
        span = cum[i + 1] - cum[i]
        frac = (target - cum[i]) / span if span > 0 else 0.0
        return a + int(min(frac, 1.0) * (b - a)), rest

    heap: list[tuple[int, int, Burst]] = []
    left = burst_count
    rest = 1.0
    next_start, rest = burst_start(left, rest)
    serial = 0
    day = -1
    prefix = ""
    emitted = 0
    while emitted < count:
        if left and (not heap or next_start <= heap[0][0]):
            kind, size = plan_burst(plan)
            serial += 1
            heapq.heappush(heap, (next_start, serial, bursts.start(kind, size, next_start)))
            left -= 1
            if left:
                next_start, rest = burst_start(left, rest)
            continue
        t, order, burst = heapq.heappop(heap)
        if t > end_us:
            t = end_us
        if t // DAY != day:
            day = t // DAY
            prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
            run.month = prefix[:7]
        rem = t - day * DAY
        secs, micros = divmod(rem, SECOND)
        hms = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        run.occurred_at = f"{prefix}{hms}.{micros:06d}Z"
        run.clock_us = t
        yield bursts.next_event(burst)
        emitted += 1
        if burst.idx < burst.size:
            kind = burst.kind
            if kind == SESSION:
                gap = 2.0 + -log(1.0 - rng()) * 50.0
            elif kind == MACHINE:
                gap = 0.05 + rng() * 4.0
            else:
                gap = 0.8 + rng() * 3.0
            heapq.heappush(heap, (t + int(gap * SECOND), order, burst))
