"""Versioned schema migrations for PostgreSQL (the scheme: ``trailbook.store.schema_files``).

Migrations run under a transaction-level advisory lock, so several processes or
hosts starting at once apply each migration exactly once."""

from __future__ import annotations

import psycopg

from trailbook.model.timefmt import format_us, now_us
from trailbook.store import schema_files
from trailbook.store.schema_files import Migration

# pg_advisory_xact_lock key for migrations: "tbmigr" in ASCII.
MIGRATION_LOCK = 0x74626D69677200


def known_migrations() -> list[Migration]:
    return schema_files.known_migrations("trailbook.store.postgres")


LATEST = known_migrations()[-1].version


def current_version(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(version[0] or 0) if version else 0


def refuse_newer(version: int, where: str) -> None:
    schema_files.refuse_newer(version, LATEST, where)


def apply_migrations(conn: psycopg.Connection, where: str) -> list[int]:
    """Apply what is missing; return the versions applied. ``conn`` is in autocommit."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)"
        )
    for migration in known_migrations():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            version = current_version(conn)
            refuse_newer(version, where)
            if migration.version <= version:
                continue
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, format_us(now_us())),
            )
            applied.append(migration.version)
    return applied
