"""Process-wide tuning for the `trailbook` command and server.

The cycle collector's default thresholds (700 allocations) make it run every few
events on the ingest path; with the token caches warm, each full collection walks
hundreds of thousands of objects. Measured on demo data (docs/benchmarks.md):
validation time per event grew from ~33 µs to ~84 µs over 600,000 events with the
defaults, and stayed flat with these thresholds. Cycles are still collected."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)


def tune_for_throughput() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
