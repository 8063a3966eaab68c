"""Versioned schema migrations for SQLite (the scheme: ``trailbook.store.schema_files``)."""

from __future__ import annotations

import sqlite3

from trailbook.model.timefmt import format_us, now_us
from trailbook.store import schema_files
from trailbook.store.schema_files import Migration


def known_migrations() -> list[Migration]:
    return schema_files.known_migrations("trailbook.store.sqlite")


LATEST = known_migrations()[-1].version


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
        script = (
            "BEGIN IMMEDIATE;\n"
            + migration.sql
            + "\nINSERT INTO schema_migrations (version, name, applied_at) VALUES "
            + f"({migration.version}, '{migration.name}', '{format_us(now_us())}');\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
