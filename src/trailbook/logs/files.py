"""The files of the logs folder: one live ``<area>.log`` per area, and its rotated
copies ``<area>.<YYYY-MM-DD>.<n>.log.gz`` (the date of rotation, in UTC, and a counter
within that day).

``AreaFile`` writes one area's live file. Several processes (``serve --workers N``)
may write the same file: each appends, and before each write checks that the file at
the path is still the one it holds open (another process may have rotated it). The
rotation itself happens under a lock file in the folder, so one process rotates and
the others follow."""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per folder
    fcntl = None  # type: ignore[assignment]

LIVE_RE = re.compile(r"^(?P<area>[a-z]+)\.log$")
ROTATED_RE = re.compile(r"^(?P<area>[a-z]+)\.(?P<date>\d{4}-\d{2}-\d{2})\.(?P<n>\d{1,6})"
                        r"\.log\.gz$")
# A rotation under way: the renamed live file, then the gzip being written.
_WORK_RE = re.compile(r"^\.(?P<area>[a-z]+)\.(?P<date>\d{4}-\d{2}-\d{2})\.(?P<n>\d{1,6})"
                      r"\.log(?:\.gz)?\.part$")
LOCK_NAME = ".rotate.lock"


@dataclass(frozen=True, slots=True)
class LogFile:
    name: str
    area: str
    live: bool
    size: int
    modified: float  # seconds since the epoch
    date: str | None = None  # rotated copies: the day of rotation
    counter: int = 0

    @property
    def order(self) -> tuple[str, int]:
        """Oldest first among one area's rotated copies."""
        return (self.date or "", self.counter)


def parse_name(name: str) -> tuple[str, bool, str | None, int] | None:
    """(area, live, date, counter) of a log file's name, or None for any other name."""
    live = LIVE_RE.match(name)
    if live:
        return live["area"], True, None, 0
    rotated = ROTATED_RE.match(name)
    if rotated:
        return rotated["area"], False, rotated["date"], int(rotated["n"])
    return None


def list_files(folder: Path, areas: set[str] | None = None) -> list[LogFile]:
    """The log files in ``folder``: live files first, then rotated copies newest first."""
    found: list[LogFile] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        parsed = parse_name(entry.name)
        if parsed is None or (areas is not None and parsed[0] not in areas):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # removed meanwhile
            continue
        area, is_live, date, counter = parsed
        found.append(LogFile(entry.name, area, is_live, stat.st_size, stat.st_mtime, date,
                             counter))
    current = sorted((f for f in found if f.live), key=lambda f: f.area)
    rotated = sorted((f for f in found if not f.live), key=lambda f: f.area)
    rotated.sort(key=lambda f: f.order, reverse=True)  # stable: by area within a tie
    return current + rotated


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """The folder's rotation lock, across processes (and, with ``_THREAD_LOCK``,
    across threads of this one). Re-entrant: a record logged while the lock is held
    may itself need a rotation."""
    with _THREAD_LOCK:
        held = int(getattr(_HELD, "depth", 0))
        if held or fcntl is None:
            _HELD.depth = held + 1
            try:
                yield
            finally:
                _HELD.depth -= 1
            return
        folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        _HELD.depth = 1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            _HELD.depth = 0
            os.close(fd)  # releases the lock


_THREAD_LOCK = threading.RLock()
_HELD = threading.local()


def _next_counter(folder: Path, area: str, date: str) -> int:
    highest = 0
    for name in os.listdir(folder):
        match = ROTATED_RE.match(name) or _WORK_RE.match(name)
        if match and match["area"] == area and match["date"] == date:
            highest = max(highest, int(match["n"]))
    return highest + 1


def prune(folder: Path, area: str, keep: int) -> list[str]:
    """Remove ``area``'s oldest rotated copies past ``keep``; the names removed."""
    rotated = sorted((f for f in list_files(folder, {area}) if not f.live),
                     key=lambda f: f.order)
    doomed = rotated[:max(0, len(rotated) - keep)]
    for old in doomed:
        with contextlib.suppress(FileNotFoundError):
            (folder / old.name).unlink()
    return [f.name for f in doomed]


def compress(source: Path, target: Path) -> None:
    """gzip ``source`` into ``target`` (written aside, then renamed), then remove it."""
    partial = target.with_name(f".{target.name}.part")
    with source.open("rb") as raw, gzip.open(partial, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, 1024 * 1024)
    os.replace(partial, target)
    source.unlink()


class AreaFile:
    """One area's live file: appends lines, rotating it past ``max_bytes`` into a dated
    gzip copy and keeping at most ``keep`` copies. Thread-safe; safe across processes
    writing the same folder."""

    def __init__(self, folder: Path, area: str, max_bytes: int, keep: int) -> None:
        self.folder = folder
        self.area = area
        self.path = folder / f"{area}.log"
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()
        self._stream: IO[bytes] | None = None
        self._inode: tuple[int, int] | None = None
        self._compressing: list[threading.Thread] = []

    def _open(self) -> IO[bytes]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        if self._stream is not None:
            self._stream.close()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        stream = os.fdopen(fd, "ab", buffering=0)
        stat = os.fstat(fd)
        self._stream, self._inode = stream, (stat.st_dev, stat.st_ino)
        return stream

    def _current(self) -> tuple[IO[bytes], int]:
        """The open live file (reopened if another process rotated it) and its size."""
        try:
            stat = os.stat(self.path)
            if self._stream is None or (stat.st_dev, stat.st_ino) != self._inode:
                self._open()
                stat = os.stat(self.path)
        except FileNotFoundError:
            self._open()
            return self._current()
        assert self._stream is not None
        return self._stream, stat.st_size

    def write(self, data: bytes) -> None:
        with self._lock:
            stream, size = self._current()
            if self.max_bytes > 0 and size > 0 and size + len(data) > self.max_bytes:
                stream = self._rotate(len(data))
            stream.write(data)

    def _rotate(self, incoming: int) -> IO[bytes]:
        with folder_lock(self.folder):
            # Another process may have rotated while this one waited for the lock.
            stream, size = self._current()
            if size == 0 or size + incoming <= self.max_bytes:
                return stream
            date = datetime.now(UTC).strftime("%Y-%m-%d")
            counter = _next_counter(self.folder, self.area, date)
            aside = self.folder / f".{self.area}.{date}.{counter}.log.part"
            os.replace(self.path, aside)
            stream = self._open()
            target = self.folder / f"{self.area}.{date}.{counter}.log.gz"
        # Compressing 100 MB takes a few seconds: done beside the writers, not in
        # their way. ``settle`` waits for it.
        worker = threading.Thread(target=self._finish_rotation, args=(aside, target),
                                  name=f"trailbook-log-rotate-{self.area}", daemon=True)
        self._compressing = [t for t in self._compressing if t.is_alive()] + [worker]
        worker.start()
        return stream

    def _finish_rotation(self, aside: Path, target: Path) -> None:
        compress(aside, target)
        with folder_lock(self.folder):
            prune(self.folder, self.area, self.keep)

    def settle(self) -> None:
        """Wait for rotations under way to finish compressing."""
        for worker in list(self._compressing):
            worker.join()

    def close(self) -> None:
        self.settle()
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
