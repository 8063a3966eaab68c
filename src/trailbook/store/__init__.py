"""Storage backends. Only this package speaks SQL."""

from __future__ import annotations

from trailbook.settings import Settings
from trailbook.store.base import Store


def open_store(settings: Settings, url: str | None = None, *, create: bool = True) -> Store:
    """Open the backend named by ``url`` (default: the settings' database URL).
    ``create=False`` refuses to make a new SQLite file."""
    target = url or settings.resolved_database_url
    if target.startswith("sqlite:///"):
        from trailbook.store.sqlite import SQLiteStore

        return SQLiteStore(
            target,
            synchronous=settings.sqlite_synchronous,
            cache_mb=settings.sqlite_cache_mb,
            create=create,
        )
    if target.startswith(("postgresql://", "postgres://")):
        from trailbook.store.postgres import PostgresStore

        return PostgresStore(target, pool_size=settings.postgres_pool_size)
    from trailbook.errors import StorageError

    raise StorageError(f"no store for {target.split(':', 1)[0]!r} URLs yet")
