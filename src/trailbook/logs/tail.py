"""The last records of a log file, at or above a level. A record is a line that starts
with a time and a level, with the lines that follow it until the next such line (a
traceback). Live files are read backwards from their end, a block at a time, so a
tail of a large file reads little of it; gzip copies are read through once."""

from __future__ import annotations

import gzip
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from trailbook.logs.areas import READ_BACK

HEAD_RE = re.compile(rb"^\d{4}-\d{2}-\d{2}T[0-9:.]+Z ([A-Z]+) ")
BLOCK = 64 * 1024
# The most a record is shown with (a huge one is cut, and says so).
MAX_RECORD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    level: str  # as written: TRACE … CRITICAL, or "" for lines before the first record
    text: str


def _level(head: bytes) -> tuple[str, int]:
    match = HEAD_RE.match(head)
    if match is None:
        return "", 0
    name = match.group(1).decode()
    return name, READ_BACK.get(name, 0)


def _record(lines: list[bytes]) -> Record:
    raw = b"\n".join(lines)
    if len(raw) > MAX_RECORD:
        raw = raw[:MAX_RECORD] + b" [cut]"
    return Record(_level(lines[0])[0], raw.decode("utf-8", "replace"))


def _backwards(path: Path, limit: int | None) -> Iterator[bytes]:
    """The lines of a file, last first (at most ``limit`` bytes of it: a live file
    read while it grows stops where it ended when the read began)."""
    with path.open("rb") as handle:
        end = os.fstat(handle.fileno()).st_size if limit is None else limit
        rest = b""
        while end > 0:
            start = max(0, end - BLOCK)
            handle.seek(start)
            chunk = handle.read(end - start) + rest
            end = start
            lines = chunk.split(b"\n")
            rest = lines.pop(0)  # may continue in the block before
            yield from reversed(lines)
        yield rest


def _records_backwards(lines: Iterable[bytes]) -> Iterator[list[bytes]]:
    pending: list[bytes] = []
    for line in lines:
        if not line and not pending:
            continue  # the newline at the end
        pending.append(line)
        if HEAD_RE.match(line) or len(pending) >= 2000:
            pending.reverse()
            yield pending
            pending = []
    if pending:
        pending.reverse()
        yield pending


def tail_plain(path: Path, count: int, threshold: int) -> list[Record]:
    found: list[Record] = []
    for lines in _records_backwards(_backwards(path, None)):
        if _level(lines[0])[1] >= threshold:
            found.append(_record(lines))
            if len(found) == count:
                break
    found.reverse()
    return found


def tail_gzip(path: Path, count: int, threshold: int) -> list[Record]:
    kept: deque[list[bytes]] = deque(maxlen=count)
    current: list[bytes] = []
    with gzip.open(path, "rb") as handle:
        for raw in handle:
            line = raw.rstrip(b"\n")
            if HEAD_RE.match(line) or not current:
                if current and _level(current[0])[1] >= threshold:
                    kept.append(current)
                current = [line]
            elif len(current) < 2000:
                current.append(line)
    if current and current != [b""] and _level(current[0])[1] >= threshold:
        kept.append(current)
    return [_record(lines) for lines in kept]


def tail(path: Path, count: int, threshold: int) -> list[Record]:
    """The last ``count`` records of ``path`` whose level is at least ``threshold``
    (oldest first). Lines before the first record count as level 0."""
    if path.name.endswith(".gz"):
        return tail_gzip(path, count, threshold)
    return tail_plain(path, count, threshold)
