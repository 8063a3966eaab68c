"""Where an event sits in a store: ``pos = occurred_at in microseconds << 10 | slot``.

Ordering by pos is ordering by occurred_at, so time ranges and "newest first" are pos
ranges; the slot tells apart up to 1,024 events of one microsecond. Both backends
use the same positions (SQLite as the rowid, PostgreSQL as the partition key)."""

from __future__ import annotations

from trailbook.query.filters import EventFilter

POS_SHIFT = 10
SLOTS_PER_MICROSECOND = 1 << POS_SHIFT
MAX_POS = 2**63 - 1  # both backends' largest integer


def pos_bounds(flt: EventFilter, before_pos: int | None) -> tuple[int, int]:
    """The filter's time range (and a cursor) as a pos range [low, high)."""
    low = (flt.since_us << POS_SHIFT) if flt.since_us is not None else 0
    high = (flt.until_us << POS_SHIFT) if flt.until_us is not None else MAX_POS
    if before_pos is not None:
        high = min(high, before_pos)
    return min(max(low, 0), MAX_POS), min(max(high, 0), MAX_POS)
