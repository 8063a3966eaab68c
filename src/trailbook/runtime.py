"""Process-wide tuning for the `trailbook` command and server.

The cycle collector's default thresholds (700 allocations) make it run every few
events on the ingest path; with the token caches warm, each full collection walks
hundreds of thousands of objects. Measured on demo data (docs/benchmarks.md):
validation time per event grew from ~33 µs to ~84 µs over 600,000 events with the
defaults, and stayed flat with these thresholds. Cycles are still collected."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLDS = (50_000, 20, 100)


def tune_for_throughput() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


# How long a thread may hold the GIL while another waits for it, during bulk ingest.
# The writer thread gives the GIL up in each database call and wants it back at once;
# with the default 5 ms it can wait that long after every call while the sealing
# thread runs on (docs/benchmarks.md, "Threads do not help here").
BULK_SWITCH_INTERVAL = 0.0005


@contextmanager
def short_gil_turns() -> Iterator[None]:
    """Shorter turns on the GIL for the duration (``sys.setswitchinterval``), then
    the interval as it was."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, BULK_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)
