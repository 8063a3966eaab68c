"""The areas of the server logs, the loggers each one takes, and the levels.

Levels are ERROR, WARN, INFO, DEBUG and TRACE (a level below DEBUG, for what is too
chatty even for DEBUG). A logger belongs to the area whose name is the longest prefix
of its own; anything else (uvicorn, libraries, ``trailbook`` itself) is ``application``."""

from __future__ import annotations

import logging
from functools import lru_cache

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# The levels an area can be set to, most severe first.
LEVELS: dict[str, int] = {
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": TRACE,
}
# How a record's level is written in a file (and read back by the tail).
WRITTEN: dict[int, str] = {
    logging.CRITICAL: "CRITICAL",
    logging.ERROR: "ERROR",
    logging.WARNING: "WARN",
    logging.INFO: "INFO",
    logging.DEBUG: "DEBUG",
    TRACE: "TRACE",
}
READ_BACK: dict[str, int] = {name: number for number, name in WRITTEN.items()}

# area -> the logger names it takes (and their children). ``application`` also takes
# every logger no other area names.
AREAS: dict[str, tuple[str, ...]] = {
    "application": ("trailbook", "uvicorn", "uvicorn.error", "fastapi", "starlette"),
    "access": ("trailbook.access", "uvicorn.access"),
    "ingest": ("trailbook.ingest", "trailbook.checkpoints", "trailbook.integrity"),
    "notify": ("trailbook.notify", "trailbook.alerts"),
    "scheduler": ("trailbook.periodic", "trailbook.scheduler"),
    "database": ("trailbook.store", "psycopg", "psycopg.pool", "sqlite3"),
    "auth": ("trailbook.auth",),
}
DEFAULT_AREA = "application"
_PREFIXES = sorted(((name, area) for area, names in AREAS.items() for name in names),
                   key=lambda pair: len(pair[0]), reverse=True)


@lru_cache(maxsize=1024)
def area_of(logger_name: str) -> str:
    """The area a logger's records go to."""
    for prefix, area in _PREFIXES:
        if logger_name == prefix or logger_name.startswith(prefix + "."):
            return area
    return DEFAULT_AREA


def level_number(name: str) -> int:
    """``WARN`` (or ``warning``, ``warn``, ``trace`` …) as its number; ValueError if it
    is not one of the levels."""
    key = name.strip().upper()
    if key == "WARNING":
        key = "WARN"
    if key not in LEVELS:
        raise ValueError(f"{name!r} is not a level; choose from {', '.join(LEVELS)}")
    return LEVELS[key]


def level_name(number: int) -> str:
    """The name of the most verbose level that still shows ``number``."""
    for name, value in sorted(LEVELS.items(), key=lambda item: -item[1]):
        if number >= value:
            return name
    return "TRACE"
