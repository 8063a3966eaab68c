"""Versioned schema migrations, one scheme for every backend: files named
``NNNN_name.sql`` in a backend's ``migrations`` folder, applied in order, each in its
own transaction, recorded in that database's ``schema_migrations`` table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from trailbook.errors import StorageError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def known_migrations(package: str) -> list[Migration]:
    """The migrations shipped in ``package``'s ``migrations`` folder, oldest first."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


def refuse_newer(version: int, latest: int, where: str) -> None:
    """A database migrated by a newer Trailbook is not touched by an older one."""
    if version > latest:
        raise StorageError(
            f"the database at {where} has schema version {version}, newer than this "
            f"Trailbook knows (up to {latest}); upgrade Trailbook before using it"
        )
