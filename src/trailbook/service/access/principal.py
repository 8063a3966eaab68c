"""Who is calling: a staff user on a session, or an API key; what they may do."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from trailbook.errors import ErrorDetail, Forbidden
from trailbook.query.filters import EventFilter
from trailbook.service.access.permissions import (
    ALL_CATEGORIES,
    PERMISSIONS,
    SCOPE_PERMISSIONS,
)
from trailbook.store.records import ApiKey, Session, Tenant, User


def user_actor(user: User) -> dict[str, Any]:
    """A staff user as the actor of an audit event."""
    return {"id": f"user:{user.id}", "type": "user", "name": user.name, "email": user.email}


@dataclass(frozen=True)
class Principal:
    tenant: Tenant
    permissions: frozenset[str]
    categories: tuple[str, ...] | None  # None: every category
    key: ApiKey | None = None
    user: User | None = None
    session: Session | None = None

    @property
    def is_staff(self) -> bool:
        return self.user is not None

    @property
    def label(self) -> str:
        """How logs and messages name the caller."""
        if self.user is not None:
            return f"user {self.user.email}"
        assert self.key is not None
        return f"API key {self.key.prefix}… ({self.key.name})"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if self.can(permission):
            return
        if self.key is not None:
            scope = next((s for s, granted in SCOPE_PERMISSIONS.items()
                          if permission in granted), None)
            reason = f"key {self.key.prefix}… has scopes: {', '.join(self.key.scopes)}"
            what = (f"this API key lacks the {scope!r} scope" if scope else
                    f"API keys cannot {PERMISSIONS.get(permission, permission)}; "
                    "sign in as a staff user")
            raise Forbidden(what, [ErrorDetail("authorization", reason)], permission)
        assert self.user is not None
        raise Forbidden(
            f"your role ({self.user.role}) lacks the {permission!r} permission",
            [ErrorDetail("permission", f"needs {permission}: "
                         f"{PERMISSIONS.get(permission, permission)}")], permission)

    @property
    def sees_personal_data(self) -> bool:
        return self.can("personal_data")

    def may_read_category(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def restrict(self, flt: EventFilter) -> EventFilter | None:
        """``flt`` narrowed to the categories this caller may read; None when nothing
        it asks for is readable."""
        if self.categories is None:
            return flt
        if not flt.categories:
            return replace(flt, categories=self.categories) if self.categories else None
        allowed = tuple(c for c in flt.categories if c in self.categories)
        return replace(flt, categories=allowed) if allowed else None

    def may_grant(self, permissions: frozenset[str], categories: tuple[str, ...]) -> bool:
        """Whether this caller holds everything a role with ``permissions`` and
        ``categories`` gives (no one hands out more than they have)."""
        if not permissions <= self.permissions:
            return False
        if self.categories is None:
            return True
        return ALL_CATEGORIES not in categories and set(categories) <= set(self.categories)

    def actor(self) -> dict[str, Any]:
        """The caller as the actor of an audit event."""
        if self.user is not None:
            return user_actor(self.user)
        assert self.key is not None
        return {"id": f"api_key:{self.key.id}", "type": "api_key", "name": self.key.name}
