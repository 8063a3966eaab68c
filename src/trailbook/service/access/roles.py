"""Roles: the built-in five and each tenant's own."""

from __future__ import annotations

import re

from trailbook.errors import ErrorDetail, Forbidden, NotFound, ValidationFailed, field_error
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import RequestContext, SelfAudit, change_list
from trailbook.service.access.permissions import (
    ALL_CATEGORIES,
    BUILTIN_ROLES,
    PERMISSIONS,
    RoleSpec,
)
from trailbook.service.access.principal import Principal
from trailbook.service.tenants import TenantService
from trailbook.store.base import Store
from trailbook.store.records import Tenant

ROLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def _spec(name: str, permissions: tuple[str, ...], categories: tuple[str, ...]) -> RoleSpec:
    return RoleSpec(name, frozenset(permissions), categories, False)


class RoleService:
    def __init__(self, store: Store, tenants: TenantService, audit: SelfAudit) -> None:
        self.store = store
        self.tenants = tenants
        self.audit = audit

    def get(self, tenant: Tenant, name: str) -> RoleSpec:
        if name in BUILTIN_ROLES:
            return BUILTIN_ROLES[name]
        role = self.store.accounts.get_role(tenant.id, name)
        if role is None:
            raise NotFound(f"no role named {name!r}", [ErrorDetail("role", "not found")])
        return _spec(role.name, role.permissions, role.categories)

    def all(self, tenant: Tenant) -> list[RoleSpec]:
        custom = [_spec(r.name, r.permissions, r.categories)
                  for r in self.store.accounts.list_roles(tenant.id)]
        return [*BUILTIN_ROLES.values(), *custom]

    def _checked(self, tenant: Tenant, permissions: list[str],
                 categories: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        unknown = [p for p in permissions if p not in PERMISSIONS]
        if unknown:
            raise field_error("permissions", f"unknown: {', '.join(unknown)}; choose from "
                              f"{', '.join(PERMISSIONS)}")
        known = set(self.tenants.categories(tenant))
        wrong = [c for c in categories if c != ALL_CATEGORIES and c not in known]
        if wrong:
            raise field_error("categories", f"not categories of {tenant.name}: "
                              f"{', '.join(wrong)}")
        if "events.read" in permissions and not categories:
            raise field_error("categories", "name the categories the role reads, or '*'")
        if ALL_CATEGORIES in categories:
            categories = [ALL_CATEGORIES]
        return tuple(dict.fromkeys(permissions)), tuple(dict.fromkeys(categories))

    @staticmethod
    def _guard_grant(by: Principal | None, permissions: tuple[str, ...],
                     categories: tuple[str, ...], held: str | None = None) -> None:
        """Staff make roles only within their own rights, and do not change the role
        they hold themselves."""
        if by is None:
            return
        if held is not None and by.user is not None and by.user.role == held:
            raise Forbidden("you cannot change the role you hold",
                            [ErrorDetail("role", "ask another admin")])
        if not by.may_grant(frozenset(permissions), categories):
            raise Forbidden("the role would give more than you hold",
                            [ErrorDetail("permissions", "stay within your own permissions "
                                                        "and categories")])

    def create(self, tenant: Tenant, name: str, permissions: list[str], categories: list[str],
               *, by: Principal | None, context: RequestContext) -> RoleSpec:
        if not ROLE_NAME_RE.match(name):
            raise field_error("name", "use 1-40 lowercase letters, digits, '_' or '-', "
                              "starting with a letter")
        if name in BUILTIN_ROLES:
            raise ValidationFailed("that is a built-in role's name",
                                   [ErrorDetail("name", f"{name!r} is built in")])
        perms, cats = self._checked(tenant, permissions, categories)
        self._guard_grant(by, perms, cats)
        self.store.accounts.add_role(tenant.id, name, perms, cats, format_us(now_us()))
        self.audit.admin(tenant, by, context, "role.create", "create",
                         {"type": "role", "id": name, "name": name},
                         change_list({}, {"permissions": list(perms), "categories": list(cats)}))
        return _spec(name, perms, cats)

    def _custom(self, tenant: Tenant, name: str) -> tuple[int, RoleSpec]:
        if name in BUILTIN_ROLES:
            raise ValidationFailed("built-in roles cannot be changed",
                                   [ErrorDetail("role", f"{name!r} is built in")])
        role = self.store.accounts.get_role(tenant.id, name)
        if role is None:
            raise NotFound(f"no role named {name!r}", [ErrorDetail("role", "not found")])
        return role.id, _spec(role.name, role.permissions, role.categories)

    def update(self, tenant: Tenant, name: str, permissions: list[str] | None,
               categories: list[str] | None, *, by: Principal | None,
               context: RequestContext) -> RoleSpec:
        role_id, old = self._custom(tenant, name)
        perms, cats = self._checked(
            tenant, sorted(old.permissions) if permissions is None else permissions,
            list(old.categories) if categories is None else categories)
        if frozenset(perms) == old.permissions and cats == old.categories:
            return old  # nothing to change, nothing to audit
        self._guard_grant(by, perms, cats, held=name)
        self.store.accounts.update_role(role_id, perms, cats)
        self.audit.admin(tenant, by, context, "role.update", "update",
                         {"type": "role", "id": name, "name": name},
                         change_list({"permissions": sorted(old.permissions),
                                      "categories": list(old.categories)},
                                     {"permissions": sorted(perms), "categories": list(cats)}))
        return _spec(name, perms, cats)

    def delete(self, tenant: Tenant, name: str, *, by: Principal | None,
               context: RequestContext) -> None:
        role_id, old = self._custom(tenant, name)
        if not self.store.accounts.delete_role(role_id):
            holders = [u.email for u in self.store.accounts.list_users(tenant.id)
                       if u.role == name]
            raise ValidationFailed("users hold this role; give them another first",
                                   [ErrorDetail("role", f"held by {', '.join(holders)}")])
        self.audit.admin(tenant, by, context, "role.delete", "delete",
                         {"type": "role", "id": name, "name": name},
                         change_list({"permissions": sorted(old.permissions),
                                      "categories": list(old.categories)}, {}))
