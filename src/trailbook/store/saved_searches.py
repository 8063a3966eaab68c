"""Saved searches (each staff user's named searches): one SQL text for both backends,
run through their ``SqlRunner`` adapters (see ``trailbook.store.accounts``). Unlike
events and annotations they are the user's own data, so they may be changed and
deleted. Every call names the tenant and the user: one user never reaches another's."""

from __future__ import annotations

import unicodedata

import orjson

from trailbook.errors import Conflict, ErrorDetail
from trailbook.store.accounts import DuplicateRow, Row, SqlRunner
from trailbook.store.records import SavedSearch

_COLUMNS = "id, tenant_id, user_id, name, query, params, created_at, updated_at"
_OWN = " WHERE id = ? AND tenant_id = ? AND user_id = ?"


def name_key(name: str) -> str:
    """What makes two names the same: compared case-folded (``Failed logins`` and
    ``FAILED LOGINS`` are one name), after Unicode normalisation."""
    return unicodedata.normalize("NFKC", name).casefold()


def _params_text(params: dict[str, list[str]]) -> str:
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode()


def _saved(row: Row) -> SavedSearch:
    params = orjson.loads(row[5])
    return SavedSearch(int(row[0]), int(row[1]), int(row[2]), str(row[3]), str(row[4]),
                       {str(k): [str(v) for v in vs] for k, vs in params.items()},
                       str(row[6]), str(row[7]))


def _taken(name: str) -> Conflict:
    return Conflict("you have a saved search of that name",
                    [ErrorDetail("name", f"{name!r} is taken (names ignore case)")])


class SavedSearchStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    def add(self, tenant_id: int, user_id: int, name: str, query: str,
            params: dict[str, list[str]], created_at: str,
            limit: int) -> SavedSearch | None:
        """Store a saved search of the user; None (nothing stored) when the user has
        ``limit`` already. A name the user has (in any case) is a ``Conflict``."""
        try:
            rows, _ = self._run.write(
                "INSERT INTO saved_searches (tenant_id, user_id, name, name_key, query,"
                " params, created_at, updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?"
                " WHERE (SELECT count(*) FROM saved_searches WHERE tenant_id = ?"
                " AND user_id = ?) < ? RETURNING id",
                (tenant_id, user_id, name, name_key(name), query, _params_text(params),
                 created_at, created_at, tenant_id, user_id, limit))
        except DuplicateRow:
            raise _taken(name) from None
        if not rows:
            return None
        return SavedSearch(int(rows[0][0]), tenant_id, user_id, name, query, params,
                           created_at, created_at)

    def for_user(self, tenant_id: int, user_id: int) -> list[SavedSearch]:
        """The user's saved searches by name (case-folded), then age."""
        rows = self._run.read(
            f"SELECT {_COLUMNS}, name_key FROM saved_searches WHERE tenant_id = ?"
            " AND user_id = ? ORDER BY id", (tenant_id, user_id))
        # Sorted here rather than by the database, whose collation differs by backend.
        rows.sort(key=lambda r: (str(r[8]), int(r[0])))
        return [_saved(r) for r in rows]

    def get(self, tenant_id: int, user_id: int, search_id: int) -> SavedSearch | None:
        rows = self._run.read(f"SELECT {_COLUMNS} FROM saved_searches" + _OWN,
                              (search_id, tenant_id, user_id))
        return _saved(rows[0]) if rows else None

    def find(self, tenant_id: int, user_id: int, name: str) -> SavedSearch | None:
        """The user's saved search of this name (in any case)."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM saved_searches WHERE tenant_id = ? AND user_id = ?"
            " AND name_key = ?", (tenant_id, user_id, name_key(name)))
        return _saved(rows[0]) if rows else None

    def update(self, saved: SavedSearch) -> bool:
        """Write ``saved``'s name, query, params and updated_at over the stored one of
        the same id, tenant and user; False if there is none."""
        s = saved
        try:
            _, changed = self._run.write(
                "UPDATE saved_searches SET name = ?, name_key = ?, query = ?, params = ?,"
                " updated_at = ?" + _OWN,
                (s.name, name_key(s.name), s.query, _params_text(s.params), s.updated_at,
                 s.id, s.tenant_id, s.user_id))
        except DuplicateRow:
            raise _taken(s.name) from None
        return changed > 0

    def delete(self, tenant_id: int, user_id: int, search_id: int) -> bool:
        _, changed = self._run.write("DELETE FROM saved_searches" + _OWN,
                                     (search_id, tenant_id, user_id))
        return changed > 0

    def for_tenant(self, tenant_id: int) -> list[SavedSearch]:
        """Every saved search of the tenant's users, in id order (for copying a
        trail)."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM saved_searches WHERE tenant_id = ? ORDER BY id",
            (tenant_id,))
        return [_saved(r) for r in rows]

    def restore(self, saved: SavedSearch) -> SavedSearch:
        """Store a copy of ``saved`` (under its tenant and user ids, with its times),
        with a new id (for copying a trail)."""
        s = saved
        rows, _ = self._run.write(
            "INSERT INTO saved_searches (tenant_id, user_id, name, name_key, query, params,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (s.tenant_id, s.user_id, s.name, name_key(s.name), s.query,
             _params_text(s.params), s.created_at, s.updated_at))
        return SavedSearch(int(rows[0][0]), s.tenant_id, s.user_id, s.name, s.query,
                           dict(s.params), s.created_at, s.updated_at)
