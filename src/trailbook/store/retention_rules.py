"""Retention policies and legal holds: one SQL text for both backends, run through
their ``SqlRunner`` adapters (see ``trailbook.store.accounts``).

A policy says how long one category of a tenant's events is kept (``keep_days``; None
is forever); the category ``*`` is the tenant's default for the categories without a
policy of their own. A legal hold is a query (the query language) whose events no
purge removes while the hold is active; releasing it keeps the row, with who released
it, when and why, so the list of holds is also their history. Every call names the
tenant: one tenant never reaches another's rows."""

from __future__ import annotations

from dataclasses import dataclass

from trailbook.store.accounts import Row, SqlRunner

DEFAULT_CATEGORY = "*"

_POLICY = "tenant_id, category, keep_days, updated_at, updated_by"
_HOLD = ("id, tenant_id, name, query, reason, created_at, created_by, released_at,"
         " released_by, release_reason")


@dataclass(frozen=True)
class RetentionPolicy:
    tenant_id: int
    category: str  # a category, or '*' for the tenant's default
    keep_days: int | None  # None: forever
    updated_at: str
    updated_by: str


@dataclass(frozen=True)
class LegalHold:
    id: str  # UUIDv7 as hex
    tenant_id: int
    name: str
    query: str  # the query language
    reason: str
    created_at: str
    created_by: str
    released_at: str | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        """Whether the hold still keeps its events from purges."""
        return self.released_at is None


def _policy(row: Row) -> RetentionPolicy:
    return RetentionPolicy(int(row[0]), str(row[1]), None if row[2] is None else int(row[2]),
                           str(row[3]), str(row[4]))


def _hold(row: Row) -> LegalHold:
    return LegalHold(str(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]),
                     str(row[5]), str(row[6]), row[7], row[8], row[9])


class RetentionRuleStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    # -- policies ------------------------------------------------------------

    def policies(self, tenant_id: int) -> list[RetentionPolicy]:
        """The tenant's policies: the default ('*') first, then by category."""
        rows = self._run.read(
            f"SELECT {_POLICY} FROM retention_policies WHERE tenant_id = ?", (tenant_id,))
        # Sorted here rather than by the database, whose collation differs by backend.
        found = [_policy(r) for r in rows]
        found.sort(key=lambda p: (p.category != DEFAULT_CATEGORY, p.category))
        return found

    def policy(self, tenant_id: int, category: str) -> RetentionPolicy | None:
        """The policy of exactly ``category`` ('*' for the default); no fallback."""
        rows = self._run.read(
            f"SELECT {_POLICY} FROM retention_policies WHERE tenant_id = ? AND category = ?",
            (tenant_id, category))
        return _policy(rows[0]) if rows else None

    def set_policy(self, tenant_id: int, category: str, keep_days: int | None,
                   updated_at: str, updated_by: str) -> RetentionPolicy:
        """Add the category's policy, or replace it (one statement: two callers at once
        leave one of their policies, never an error)."""
        self._run.write(
            f"INSERT INTO retention_policies ({_POLICY}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (tenant_id, category) DO UPDATE SET keep_days = excluded.keep_days,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (tenant_id, category, keep_days, updated_at, updated_by))
        return RetentionPolicy(tenant_id, category, keep_days, updated_at, updated_by)

    def delete_policy(self, tenant_id: int, category: str) -> bool:
        """Remove the category's own policy; False if it had none."""
        _, changed = self._run.write(
            "DELETE FROM retention_policies WHERE tenant_id = ? AND category = ?",
            (tenant_id, category))
        return changed > 0

    # -- legal holds -----------------------------------------------------------

    def holds(self, tenant_id: int, *, include_released: bool = True) -> list[LegalHold]:
        """The tenant's holds, newest first (the active ones only, unless
        ``include_released``)."""
        active = "" if include_released else " AND released_at IS NULL"
        rows = self._run.read(
            f"SELECT {_HOLD} FROM legal_holds WHERE tenant_id = ?{active}"
            " ORDER BY created_at DESC, id DESC", (tenant_id,))
        return [_hold(r) for r in rows]

    def hold(self, tenant_id: int, hold_id: str) -> LegalHold | None:
        rows = self._run.read(
            f"SELECT {_HOLD} FROM legal_holds WHERE tenant_id = ? AND id = ?",
            (tenant_id, hold_id))
        return _hold(rows[0]) if rows else None

    def add_hold(self, hold: LegalHold) -> LegalHold:
        """Store ``hold`` as given (its id made by the caller)."""
        h = hold
        self._run.write(
            f"INSERT INTO legal_holds ({_HOLD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (h.id, h.tenant_id, h.name, h.query, h.reason, h.created_at, h.created_by,
             h.released_at, h.released_by, h.release_reason))
        return hold

    def release_hold(self, tenant_id: int, hold_id: str, at: str, by: str,
                     reason: str) -> bool:
        """Release an active hold; False if there is no such hold or it was released
        already (a release is never overwritten)."""
        _, changed = self._run.write(
            "UPDATE legal_holds SET released_at = ?, released_by = ?, release_reason = ?"
            " WHERE tenant_id = ? AND id = ? AND released_at IS NULL",
            (at, by, reason, tenant_id, hold_id))
        return changed > 0
