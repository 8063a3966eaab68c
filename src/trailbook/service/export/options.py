"""What one export's writer is told: the time zone to show times in, and where to put
the per-row digests its manifest keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trailbook.errors import ErrorDetail, ValidationFailed
from trailbook.model.timefmt import parse_rfc3339


@dataclass(frozen=True)
class WriterOptions:
    # None: times as stored (UTC, "Z"). Only the CSV and XLSX cells use it: the JSON
    # formats keep the stored documents, which their hashes cover.
    zone: ZoneInfo | None = None
    # When set, the writer appends each row's digest (``csv.row_digest``; the JSON
    # writers: of the document as written) to it, in row order.
    digests: bytearray | None = None


def zone_of(name: str | None) -> ZoneInfo | None:
    """The IANA time zone ``name`` (None and "UTC": times as stored)."""
    if name is None or name in ("", "UTC", "Etc/UTC", "Z"):
        return None
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("unknown time zone", [ErrorDetail(
            "tz", f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin, "
            "America/New_York, UTC)")]) from None


def zone_named(name: str | None) -> ZoneInfo | None:
    """The time zone a writer was given, from its name (``zone.key``), as a worker
    process that formats pages is handed it (None: times as stored)."""
    return None if name is None else _zone(name)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(text: str, zone: ZoneInfo) -> str:
    """A stored RFC 3339 UTC time as ISO 8601 in ``zone``, with its offset and the
    microseconds kept: 2026-03-01T12:00:00.250000Z in Europe/Berlin is
    2026-03-01T13:00:00.250000+01:00."""
    us = parse_rfc3339(text)
    seconds, micros = divmod(us, 1_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
    return moment.astimezone(zone).isoformat(timespec="microseconds")
