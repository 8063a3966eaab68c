"""Tenants: the organisations whose trails Trailbook keeps, and their categories."""

from __future__ import annotations

import re

from trailbook.errors import ErrorDetail, NotFound, ValidationFailed, field_error
from trailbook.model.limits import DEFAULT_CATEGORIES, MAX_CATEGORY
from trailbook.model.normalize import CATEGORY_RE, TenantInfo
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import CLI, RequestContext, SelfAudit
from trailbook.service.access.principal import Principal
from trailbook.store.base import Store
from trailbook.store.records import Tenant

TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def tenant_info(tenant: Tenant, *, search_vector: bool = False) -> TenantInfo:
    """What validation needs to know of ``tenant`` (and of the store it writes to)."""
    return TenantInfo(tenant.id, tenant.name, frozenset(DEFAULT_CATEGORIES + tenant.categories),
                      search_vector)


class TenantService:
    def __init__(self, store: Store, audit: SelfAudit) -> None:
        self.store = store
        self.audit = audit

    def create(self, name: str) -> Tenant:
        if not TENANT_RE.match(name):
            raise field_error(
                "tenant",
                "use 1-63 lowercase letters, digits, '.', '_' or '-', "
                "starting with a letter or digit",
            )
        return self.store.create_tenant(name, format_us(now_us()))

    def get(self, name: str) -> Tenant:
        tenant = self.store.get_tenant(name)
        if tenant is None:
            raise NotFound(f"no tenant named {name!r}", [ErrorDetail("tenant", "not found")])
        return tenant

    def by_id(self, tenant_id: int) -> Tenant:
        tenant = self.store.get_tenant_by_id(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant", [ErrorDetail("tenant", str(tenant_id))])
        return tenant

    def get_or_create(self, name: str) -> tuple[Tenant, bool]:
        tenant = self.store.get_tenant(name)
        if tenant is not None:
            return tenant, False
        return self.create(name), True

    def all(self) -> list[Tenant]:
        return self.store.list_tenants()

    def categories(self, tenant: Tenant) -> list[str]:
        return list(DEFAULT_CATEGORIES + tenant.categories)

    def add_category(self, tenant: Tenant, category: str, *, by: Principal | None = None,
                     context: RequestContext = CLI) -> Tenant:
        if not CATEGORY_RE.match(category) or len(category) > MAX_CATEGORY:
            raise field_error(
                "category",
                f"use up to {MAX_CATEGORY} lowercase letters, digits,"
                " '_' or '-', starting with a letter",
            )
        if category in DEFAULT_CATEGORIES or category in tenant.categories:
            raise ValidationFailed("that category exists", [ErrorDetail("category", category)])
        updated = (*tenant.categories, category)
        self.store.set_tenant_categories(tenant.id, updated)
        self.audit.admin(tenant, by, context, "tenant.category_add", "update",
                         {"type": "tenant", "id": tenant.name},
                         [{"field": "categories", "old": list(tenant.categories),
                           "new": list(updated)}])
        return Tenant(tenant.id, tenant.name, updated, tenant.created_at)
