"""API keys, staff accounts, custom roles, sessions and failed logins: one SQL text for
both backends, run through a small adapter each backend provides (``SqlRunner``).

The SQL here is written with ``?`` placeholders and no literal ``?`` or ``%``, so the
PostgreSQL adapter can swap them for ``%s``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from trailbook.errors import Conflict, ErrorDetail
from trailbook.store.records import ApiKey, CustomRole, Session, User

Row = tuple[Any, ...]


class DuplicateRow(Exception):
    """A write broke a UNIQUE constraint."""


class SqlRunner(Protocol):
    def read(self, sql: str, params: Sequence[object]) -> list[Row]: ...

    def write(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        """Run one statement in its own transaction: (rows returned, rows changed).
        Raises ``DuplicateRow`` for a UNIQUE violation."""
        ...


_KEY = ("id, tenant_id, name, prefix, key_hash, scopes, created_at, expires_at,"
        " last_used_at, revoked_at")
_USER = ("id, tenant_id, email, name, role, password_hash, must_change, created_at,"
         " disabled_at, last_login_at")
_ROLE = "id, tenant_id, name, permissions, categories, created_at"
_SESSION = ("id, token_hash, tenant_id, user_id, csrf_token, created_us, last_seen_us,"
            " expires_us, ip, user_agent, revoked_us, revoked_by")
# The user fields an update may set.
USER_FIELDS = ("name", "role", "password_hash", "must_change", "disabled_at", "last_login_at")


def _key(row: Row) -> ApiKey:
    return ApiKey(int(row[0]), int(row[1]), row[2], row[3], bytes(row[4]),
                  tuple(row[5].split()), row[6], row[7], row[8], row[9])


def _user(row: Row) -> User:
    return User(int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], bool(row[6]),
                row[7], row[8], row[9])


def _role(row: Row) -> CustomRole:
    return CustomRole(int(row[0]), int(row[1]), row[2], tuple(row[3].split()),
                      tuple(row[4].split()), row[5])


def _session(row: Row) -> Session:
    return Session(row[0], bytes(row[1]), int(row[2]), int(row[3]), row[4], int(row[5]),
                   int(row[6]), int(row[7]), row[8], row[9],
                   None if row[10] is None else int(row[10]), row[11])


class AccountStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    # -- api keys ------------------------------------------------------------

    def add_api_key(self, tenant_id: int, name: str, prefix: str, key_hash: bytes,
                    scopes: tuple[str, ...], created_at: str, expires_at: str | None) -> ApiKey:
        rows, _ = self._run.write(
            "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (tenant_id, name, prefix, key_hash, " ".join(scopes), created_at, expires_at))
        return ApiKey(int(rows[0][0]), tenant_id, name, prefix, key_hash, scopes, created_at,
                      expires_at, None, None)

    def find_api_key(self, key_hash: bytes) -> ApiKey | None:
        rows = self._run.read(f"SELECT {_KEY} FROM api_keys WHERE key_hash = ?", (key_hash,))
        return _key(rows[0]) if rows else None

    def list_api_keys(self, tenant_id: int) -> list[ApiKey]:
        rows = self._run.read(f"SELECT {_KEY} FROM api_keys WHERE tenant_id = ? ORDER BY id",
                              (tenant_id,))
        return [_key(r) for r in rows]

    def touch_api_key(self, key_id: int, used_at: str) -> None:
        self._run.write("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (used_at, key_id))

    def revoke_api_key(self, tenant_id: int, key_id: int, revoked_at: str) -> bool:
        _, changed = self._run.write(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ?"
            " AND revoked_at IS NULL", (revoked_at, key_id, tenant_id))
        return changed > 0

    # -- users ---------------------------------------------------------------

    def add_user(self, tenant_id: int, email: str, name: str, role: str, password_hash: str,
                 must_change: bool, created_at: str) -> User:
        try:
            rows, _ = self._run.write(
                "INSERT INTO users (tenant_id, email, name, role, password_hash, must_change,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (tenant_id, email, name, role, password_hash, int(must_change), created_at))
        except DuplicateRow:
            raise Conflict("an account with that email exists",
                           [ErrorDetail("email", "already in use")]) from None
        return User(int(rows[0][0]), tenant_id, email, name, role, password_hash, must_change,
                    created_at, None, None)

    def get_user(self, user_id: int) -> User | None:
        rows = self._run.read(f"SELECT {_USER} FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def find_user(self, email: str) -> User | None:
        rows = self._run.read(f"SELECT {_USER} FROM users WHERE email = ?", (email,))
        return _user(rows[0]) if rows else None

    def list_users(self, tenant_id: int) -> list[User]:
        rows = self._run.read(f"SELECT {_USER} FROM users WHERE tenant_id = ? ORDER BY id",
                              (tenant_id,))
        return [_user(r) for r in rows]

    def update_user(self, user_id: int, changes: dict[str, object]) -> None:
        unknown = set(changes) - set(USER_FIELDS)
        if unknown or not changes:
            raise ValueError(f"cannot set {sorted(unknown) or 'nothing'} on a user")
        columns = list(changes)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        self._run.write(f"UPDATE users SET {assignments} WHERE id = ?", (*values, user_id))

    # -- roles ---------------------------------------------------------------

    def add_role(self, tenant_id: int, name: str, permissions: tuple[str, ...],
                 categories: tuple[str, ...], created_at: str) -> CustomRole:
        try:
            rows, _ = self._run.write(
                "INSERT INTO roles (tenant_id, name, permissions, categories, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (tenant_id, name, " ".join(permissions), " ".join(categories), created_at))
        except DuplicateRow:
            raise Conflict("a role of that name exists", [ErrorDetail("name", name)]) from None
        return CustomRole(int(rows[0][0]), tenant_id, name, permissions, categories,
                          created_at)

    def get_role(self, tenant_id: int, name: str) -> CustomRole | None:
        rows = self._run.read(f"SELECT {_ROLE} FROM roles WHERE tenant_id = ? AND name = ?",
                              (tenant_id, name))
        return _role(rows[0]) if rows else None

    def list_roles(self, tenant_id: int) -> list[CustomRole]:
        rows = self._run.read(f"SELECT {_ROLE} FROM roles WHERE tenant_id = ? ORDER BY name",
                              (tenant_id,))
        return [_role(r) for r in rows]

    def update_role(self, role_id: int, permissions: tuple[str, ...],
                    categories: tuple[str, ...]) -> None:
        self._run.write("UPDATE roles SET permissions = ?, categories = ? WHERE id = ?",
                        (" ".join(permissions), " ".join(categories), role_id))

    def delete_role(self, role_id: int) -> bool:
        """Delete a custom role no user holds; False if a user holds it (or it is gone)."""
        _, changed = self._run.write(
            "DELETE FROM roles WHERE id = ? AND NOT EXISTS (SELECT 1 FROM users u"
            " WHERE u.tenant_id = roles.tenant_id AND u.role = roles.name)", (role_id,))
        return changed > 0

    # -- sessions ------------------------------------------------------------

    def add_session(self, s: Session) -> None:
        self._run.write(
            f"INSERT INTO sessions ({_SESSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.token_hash, s.tenant_id, s.user_id, s.csrf_token, s.created_us,
             s.last_seen_us, s.expires_us, s.ip, s.user_agent, s.revoked_us, s.revoked_by))

    def find_session(self, token_hash: bytes) -> Session | None:
        rows = self._run.read(f"SELECT {_SESSION} FROM sessions WHERE token_hash = ?",
                              (token_hash,))
        return _session(rows[0]) if rows else None

    def get_session(self, tenant_id: int, session_id: str) -> Session | None:
        rows = self._run.read(f"SELECT {_SESSION} FROM sessions WHERE tenant_id = ? AND id = ?",
                              (tenant_id, session_id))
        return _session(rows[0]) if rows else None

    def live_sessions(self, tenant_id: int, user_id: int | None, now_us: int,
                      idle_us: int) -> list[Session]:
        """Sessions not revoked, not past their absolute end and not idle too long,
        newest first; of one user, or of the whole tenant."""
        sql = (f"SELECT {_SESSION} FROM sessions WHERE tenant_id = ? AND revoked_us IS NULL"
               " AND expires_us > ? AND last_seen_us > ?")
        params: list[object] = [tenant_id, now_us, now_us - idle_us]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return [_session(r) for r in self._run.read(sql + " ORDER BY created_us DESC", params)]

    def touch_session(self, session_id: str, seen_us: int) -> None:
        self._run.write("UPDATE sessions SET last_seen_us = ? WHERE id = ?",
                        (seen_us, session_id))

    def revoke_session(self, session_id: str, at_us: int, by: str) -> bool:
        _, changed = self._run.write(
            "UPDATE sessions SET revoked_us = ?, revoked_by = ? WHERE id = ?"
            " AND revoked_us IS NULL", (at_us, by, session_id))
        return changed > 0

    def revoke_user_sessions(self, user_id: int, at_us: int, by: str,
                             keep: str | None = None) -> int:
        """Revoke every live session of a user (but ``keep``); how many were revoked."""
        _, changed = self._run.write(
            "UPDATE sessions SET revoked_us = ?, revoked_by = ? WHERE user_id = ?"
            " AND revoked_us IS NULL AND id <> ?", (at_us, by, user_id, keep or ""))
        return changed

    # -- failed logins -------------------------------------------------------

    def add_login_failure(self, email: str, ip: str | None, at_us: int) -> None:
        self._run.write("INSERT INTO login_failures (email, ip, at_us) VALUES (?, ?, ?)",
                        (email, ip, at_us))

    def account_failures(self, email: str, since_us: int) -> list[int]:
        """When the account's uncleared failures since ``since_us`` happened, oldest first."""
        rows = self._run.read(
            "SELECT at_us FROM login_failures WHERE email = ? AND at_us >= ? AND cleared = 0"
            " ORDER BY at_us", (email, since_us))
        return [int(r[0]) for r in rows]

    def address_failures(self, ip: str, since_us: int) -> list[int]:
        rows = self._run.read(
            "SELECT at_us FROM login_failures WHERE ip = ? AND at_us >= ? ORDER BY at_us",
            (ip, since_us))
        return [int(r[0]) for r in rows]

    def clear_account_failures(self, email: str) -> None:
        self._run.write("UPDATE login_failures SET cleared = 1 WHERE email = ? AND cleared = 0",
                        (email,))

    def forget_login_failures(self, before_us: int) -> int:
        _, changed = self._run.write("DELETE FROM login_failures WHERE at_us < ?", (before_us,))
        return changed
