"""The PostgreSQL backend."""

from trailbook.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
