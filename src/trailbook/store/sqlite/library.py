"""Process-wide settings of the SQLite library itself, made before the first connection.

SQLite counts the memory it allocates (``SQLITE_CONFIG_MEMSTATUS``, on by default in
the builds that distributions ship), and so takes a global mutex around every
allocation and release: thousands an append. Trailbook never reads those counts, and
SQLite's own list of recommended build options turns them off. Counted with callgrind
over the SQL of 40,000 demo events (inserts as bulk ingest makes them): 101,000 ->
96,300 instructions an event (docs/benchmarks.md).

The setting can only change while the library is not initialised, and Python's
``sqlite3`` module initialises it on import. So the library is shut down, configured
and initialised again, which SQLite allows only while it holds nothing: that is done
only if it has allocated no memory yet (no connection was ever opened in this
process); otherwise everything is left as it is. The calls go to the very library
that ``sqlite3`` uses (found among the process's mapped files, so Linux only) and
hold the GIL throughout, so no other Python thread opens a connection meanwhile.
Anywhere this cannot be done (another platform, a Python with SQLite built in),
nothing changes but the speed."""

from __future__ import annotations

import ctypes
import logging
import sqlite3  # noqa: F401 (loads the library that library_path looks for)
import threading
from enum import Enum
from pathlib import Path

SQLITE_OK = 0
SQLITE_CONFIG_MEMSTATUS = 9
log = logging.getLogger("trailbook.store")


class Tuning(Enum):
    DONE = "memory statistics turned off"
    ALREADY_OFF = "memory statistics were off already"
    IN_USE = "left as it was: the library was in use before the first store opened"
    NOT_FOUND = "left as it was: the SQLite library could not be found"
    REFUSED = "left as it was: SQLite refused the setting"


_lock = threading.Lock()
_outcome: Tuning | None = None


def library_path() -> Path | None:
    """The shared SQLite library mapped into this process (the one ``sqlite3`` uses:
    importing it loaded it), or None (not Linux, or SQLite built into ``_sqlite3``)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1]
        if Path(path).name.startswith("libsqlite3.so"):
            return Path(path)
    return None


def library() -> ctypes.PyDLL | None:
    """The library, for calls that keep the GIL (``PyDLL``), with the signatures used
    here declared; or None."""
    path = library_path()
    if path is None:
        return None
    try:
        lib = ctypes.PyDLL(str(path))
    except OSError:
        return None
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_malloc.restype = ctypes.c_void_p
    lib.sqlite3_free.argtypes = [ctypes.c_void_p]
    return lib


def memory_used() -> int | None:
    """The bytes SQLite counts as allocated in this process (0 with the statistics
    off), or None where the library cannot be found."""
    lib = library()
    return None if lib is None else int(lib.sqlite3_memory_used())


def tune() -> Tuning:
    """Turn SQLite's memory statistics off for this process, once; later calls return
    what the first one did."""
    global _outcome
    with _lock:
        if _outcome is None:
            _outcome = _tune()
            log.debug("SQLite library: %s", _outcome.value)
        return _outcome


def _tune() -> Tuning:
    lib = library()
    if lib is None:
        return Tuning.NOT_FOUND
    if lib.sqlite3_memory_used() != 0:
        return Tuning.IN_USE
    # Nothing counted: either nothing is allocated, or nothing is counted (then a
    # connection may be open, and the statistics are off already).
    probe = lib.sqlite3_malloc(1)
    counted = lib.sqlite3_memory_used() != 0
    lib.sqlite3_free(probe)
    if not counted:
        return Tuning.ALREADY_OFF
    if lib.sqlite3_shutdown() != SQLITE_OK:
        return Tuning.REFUSED
    configured = lib.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == SQLITE_OK
    if lib.sqlite3_initialize() != SQLITE_OK:  # connections would initialise it anyway
        return Tuning.REFUSED
    return Tuning.DONE if configured else Tuning.REFUSED
