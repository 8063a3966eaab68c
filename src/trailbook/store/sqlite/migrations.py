"""Versioned schema migrations for SQLite (the scheme: ``trailbook.store.schema_files``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from trailbook.model.timefmt import format_us, now_us
from trailbook.store import schema_files
from trailbook.store.schema_files import Migration
from trailbook.store.sqlite import fulltext


def known_migrations() -> list[Migration]:
    return schema_files.known_migrations("trailbook.store.sqlite")


LATEST = known_migrations()[-1].version

# What a migration needs beyond SQL, run after its script in the same transaction.
PYTHON_STEPS: dict[int, Callable[[sqlite3.Connection], object]] = {
    11: fulltext.refill,  # the full-text index made anew is filled from the events
}


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def refuse_newer(version: int, where: str) -> None:
    schema_files.refuse_newer(version, LATEST, where)


def apply_migrations(conn: sqlite3.Connection, where: str) -> list[int]:
    """Apply what is missing; return the versions applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    version = current_version(conn)
    refuse_newer(version, where)
    applied = []
    for migration in known_migrations():
        if migration.version <= version:
            continue
        try:
            conn.executescript("BEGIN IMMEDIATE;\n" + migration.sql)
            step = PYTHON_STEPS.get(migration.version)
            if step is not None:
                step(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, format_us(now_us())))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
