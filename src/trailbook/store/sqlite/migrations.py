"""Versioned schema migrations for SQLite: ``migrations/NNNN_name.sql``, applied in
order, each in its own transaction, recorded in ``schema_migrations``."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from trailbook.errors import StorageError
from trailbook.model.timefmt import format_us, now_us

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def known_migrations() -> list[Migration]:
    folder = resources.files("trailbook.store.sqlite") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


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
    if version > LATEST:
        raise StorageError(
            f"the database at {where} has schema version {version}, newer than this "
            f"Trailbook knows (up to {LATEST}); upgrade Trailbook before using it"
        )


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
