"""API keys: a tenant's credentials for ingest and read. Only a SHA-256 hash of the
secret is stored (the secret carries 256 random bits, so a fast hash is enough);
the secret is shown once, when made."""

from __future__ import annotations

import secrets
import threading
import time
from hashlib import sha256

from trailbook.errors import ErrorDetail, NotFound, Unauthenticated, field_error
from trailbook.model.timefmt import format_us, now_us, parse_rfc3339
from trailbook.service.access.audit import CLI, RequestContext, SelfAudit, change_list
from trailbook.service.access.permissions import SCOPE_PERMISSIONS
from trailbook.service.access.principal import Principal
from trailbook.store.base import Store
from trailbook.store.records import ApiKey, Tenant

SCOPES = ("ingest", "read")
KEY_PREFIX = "tb_"
TOUCH_EVERY_SECONDS = 60.0


def hash_secret(secret: str) -> bytes:
    return sha256(secret.encode()).digest()


class ApiKeyService:
    def __init__(self, store: Store, audit: SelfAudit) -> None:
        self.store = store
        self.audit = audit
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    def create(
        self, tenant: Tenant, name: str, scopes: tuple[str, ...], expires_at: str | None = None,
        *, by: Principal | None = None, context: RequestContext = CLI,
    ) -> tuple[ApiKey, str]:
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            raise field_error(
                "scopes",
                f"choose from {', '.join(SCOPES)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            )
        if not name or len(name) > 100:
            raise field_error("name", "give the key a name of 1-100 characters")
        if expires_at is not None:
            try:
                expires_us = parse_rfc3339(expires_at)
            except ValueError as exc:
                raise field_error("expires_at", str(exc)) from None
            if expires_us <= now_us():
                raise field_error("expires_at", "lies in the past")
            expires_at = format_us(expires_us)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = self.store.accounts.add_api_key(
            tenant.id,
            name,
            secret[:10],
            hash_secret(secret),
            tuple(dict.fromkeys(scopes)),
            format_us(now_us()),
            expires_at,
        )
        self.audit.admin(tenant, by, context, "api_key.create", "create", _target(key),
                         change_list({}, {"name": key.name, "scopes": list(key.scopes),
                                          "expires_at": key.expires_at}))
        return key, secret

    def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated(
                "an API key is required",
                [ErrorDetail("authorization", "send 'Authorization: Bearer <key>'")],
            )
        key = self.store.accounts.find_api_key(hash_secret(secret))
        if key is None:
            raise Unauthenticated(
                "the API key is not valid", [ErrorDetail("authorization", "unknown key")]
            )
        if key.revoked_at is not None:
            raise Unauthenticated(
                "the API key was revoked",
                [ErrorDetail("authorization", f"revoked {key.revoked_at}")],
            )
        if key.expires_at is not None and parse_rfc3339(key.expires_at) <= now_us():
            raise Unauthenticated(
                "the API key has expired",
                [ErrorDetail("authorization", f"expired {key.expires_at}")],
            )
        tenant = self.store.get_tenant_by_id(key.tenant_id)
        if tenant is None:  # a key always belongs to a tenant; be safe anyway
            raise Unauthenticated(
                "the API key is not valid", [ErrorDetail("authorization", "unknown tenant")]
            )
        self._touch(key)
        granted = frozenset().union(*(SCOPE_PERMISSIONS.get(s, frozenset())
                                      for s in key.scopes))
        return Principal(tenant, granted, None, key=key)

    def _touch(self, key: ApiKey) -> None:
        """Record last use, at most once a minute per key (keeps the writer free)."""
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(key.id)
            if last is not None and now - last < TOUCH_EVERY_SECONDS:
                return
            self._touched[key.id] = now
        self.store.accounts.touch_api_key(key.id, format_us(now_us()))

    def for_tenant(self, tenant: Tenant) -> list[ApiKey]:
        return self.store.accounts.list_api_keys(tenant.id)

    def revoke(self, tenant: Tenant, key_id: int, *, by: Principal | None = None,
               context: RequestContext = CLI) -> None:
        revoked_at = format_us(now_us())
        if not self.store.accounts.revoke_api_key(tenant.id, key_id, revoked_at):
            raise NotFound("no active key with that id", [ErrorDetail("key_id", str(key_id))])
        key = next(k for k in self.store.accounts.list_api_keys(tenant.id) if k.id == key_id)
        self.audit.admin(tenant, by, context, "api_key.revoke", "delete", _target(key),
                         [{"field": "revoked_at", "old": None, "new": revoked_at}])


def _target(key: ApiKey) -> dict[str, str]:
    return {"type": "api_key", "id": f"api_key:{key.id}", "name": f"{key.name} ({key.prefix}…)"}
