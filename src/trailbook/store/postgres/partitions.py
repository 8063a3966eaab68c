"""Monthly partitions of the events table.

Events are partitioned by ``pos`` (``trailbook.store.positions``), so a calendar month
(UTC) is a pos range. The service creates the previous month, the current one and
the next few ahead of time (at start and every six hours); an event outside them
lands in the default partition, which keeps it as safely, only without pruning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from trailbook.store.positions import POS_SHIFT

MONTHS_AHEAD = 3
PARTITION_LOCK = 0x7462706172740000  # pg_advisory_xact_lock key for partition DDL


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @property
    def name(self) -> str:
        return f"events_{self.year:04d}_{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def start_pos(self) -> int:
        start = datetime(self.year, self.month, 1, tzinfo=UTC)
        seconds = int((start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
        return (seconds * 1_000_000) << POS_SHIFT

    def bounds(self) -> tuple[int, int]:
        return self.start_pos(), self.next().start_pos()


def month_of(moment: datetime) -> Month:
    utc = moment.astimezone(UTC)
    return Month(utc.year, utc.month)


def months_to_keep(now: datetime, ahead: int = MONTHS_AHEAD) -> list[Month]:
    """The month before ``now``'s (late events of it still arrive), ``now``'s month and
    ``ahead`` months after it."""
    current = month_of(now)
    previous = Month(current.year - 1, 12) if current.month == 1 else Month(
        current.year, current.month - 1)
    months = [previous, current]
    for _ in range(ahead):
        months.append(months[-1].next())
    return months
