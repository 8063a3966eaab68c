"""Signing in and out, server-side sessions (idle and absolute timeouts), listing and
revoking them, and who a session cookie belongs to."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from hashlib import sha256
from typing import Any

from trailbook.errors import (
    ErrorDetail,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    field_error,
)
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import RequestContext, SelfAudit
from trailbook.service.access.passwords import MAX_LENGTH, Passwords
from trailbook.service.access.permissions import ALL_CATEGORIES
from trailbook.service.access.principal import Principal, user_actor
from trailbook.service.access.roles import RoleService
from trailbook.service.access.throttle import LOOK_BACK_US, Lock, current_lock
from trailbook.service.access.users import user_target
from trailbook.service.tenants import TenantService
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Session, User

WRONG = "the email or password is wrong"
log = logging.getLogger("trailbook.auth")


def token_hash(token: str) -> bytes:
    return sha256(token.encode()).digest()


def _refused(lock: Lock, now: int) -> RateLimited:
    wait = max(1, -(-(lock.until_us - now) // 1_000_000))
    return RateLimited(f"too many failed sign-ins; try again in {wait} s",
                       [ErrorDetail("email", "sign-in is paused after repeated failures")],
                       retry_after=wait)


class SessionService:
    def __init__(self, store: Store, settings: Settings, tenants: TenantService,
                 roles: RoleService, passwords: Passwords, audit: SelfAudit,
                 clock: Callable[[], int] = now_us) -> None:
        self.store = store
        self.settings = settings
        self.tenants = tenants
        self.roles = roles
        self.passwords = passwords
        self.audit = audit
        self.clock = clock
        self.idle_us = int(settings.session_idle_seconds * 1_000_000)
        self.absolute_us = int(settings.session_absolute_seconds * 1_000_000)
        self.lock_base_us = int(settings.login_lock_seconds * 1_000_000)
        # last_seen is written at most this often (keeps reads from writing).
        self.touch_every_us = min(60_000_000, self.idle_us // 10)

    # -- signing in ----------------------------------------------------------

    def _lock(self, email: str, ip: str | None, now: int) -> Lock | None:
        accounts = self.store.accounts
        return current_lock(accounts.account_failures(email, now - LOOK_BACK_US),
                            accounts.address_failures(ip, now - LOOK_BACK_US) if ip else [],
                            self.lock_base_us, now)

    def _audit_auth(self, user: User, context: RequestContext, action: str, action_type: str,
                    **extra: Any) -> None:
        self.audit.record(self.tenants.by_id(user.tenant_id), category="access",
                          action=action, action_type=action_type, actor=user_actor(user),
                          context=context, targets=[user_target(user)], **extra)

    def login(self, email: str, password: str, context: RequestContext
              ) -> tuple[str, Principal]:
        """Check the password and open a session: (the cookie's secret, who is now
        signed in)."""
        if not email.strip():
            raise field_error("email", "is required")
        if not password:
            raise field_error("password", "is required")
        email = email.strip().lower()[:320]
        now = self.clock()
        user = self.store.accounts.find_user(email)
        lock = self._lock(email, context.ip, now)
        if lock is not None:
            if user is not None:
                self._audit_auth(user, context, "auth.login_refused", "login",
                                 result="failure", severity="warning",
                                 reason=f"sign-in paused ({lock.reason}: {lock.failures} "
                                 f"failures) until {format_us(lock.until_us)}")
            log.warning("sign-in paused for %s from %s: %s", email, context.ip or "-",
                        lock.reason)
            raise _refused(lock, now)
        ok = len(password) <= MAX_LENGTH and self.passwords.verify(
            user.password_hash if user else None, password)
        if not ok or user is None or user.disabled_at is not None:
            self.store.accounts.add_login_failure(email, context.ip, now)
            if user is not None:
                why = "wrong password" if not ok else "account disabled"
                self._audit_auth(user, context, "auth.login_failed", "login",
                                 result="failure", severity="notice", reason=why)
                started = self._lock(email, context.ip, now)
                if started is not None:
                    self._audit_auth(user, context, "auth.lockout", "login",
                                     result="failure", severity="warning",
                                     reason=f"{started.failures} failed sign-ins "
                                     f"({started.reason}); paused until "
                                     f"{format_us(started.until_us)}")
            log.warning("failed sign-in for %s from %s", email, context.ip or "-")
            raise Unauthenticated(WRONG, [ErrorDetail("password", WRONG)])
        self.store.accounts.clear_account_failures(email)
        token = secrets.token_urlsafe(32)
        session = Session(secrets.token_hex(12), token_hash(token), user.tenant_id, user.id,
                          secrets.token_urlsafe(24), now, now, now + self.absolute_us,
                          context.ip, (context.user_agent or "")[:512] or None)
        self.store.accounts.add_session(session)
        changes: dict[str, object] = {"last_login_at": format_us(now)}
        if self.passwords.needs_rehash(user.password_hash):
            changes["password_hash"] = self.passwords.hash(password)
        self.store.accounts.update_user(user.id, changes)
        self._audit_auth(user, context, "auth.login", "login", session_id=session.id)
        log.info("signed in: %s from %s (session %s)", email, context.ip or "-", session.id)
        return token, self.principal_of(user, session)

    # -- who is calling ------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        now = self.clock()
        session = self.store.accounts.find_session(token_hash(token))
        if session is None:
            raise Unauthenticated("not signed in", [ErrorDetail("session", "unknown session")])
        if session.revoked_us is not None:
            raise Unauthenticated("the session was ended; sign in again",
                                  [ErrorDetail("session", f"revoked ({session.revoked_by})")])
        if now >= session.expires_us:
            raise Unauthenticated("the session expired; sign in again",
                                  [ErrorDetail("session", "past its absolute lifetime")])
        if now - session.last_seen_us >= self.idle_us:
            raise Unauthenticated("the session expired; sign in again",
                                  [ErrorDetail("session", "idle too long")])
        user = self.store.accounts.get_user(session.user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthenticated("the account is disabled",
                                  [ErrorDetail("session", "account disabled")])
        if now - session.last_seen_us >= self.touch_every_us:
            self.store.accounts.touch_session(session.id, now)
        return self.principal_of(user, session)

    def principal_of(self, user: User, session: Session | None = None) -> Principal:
        tenant = self.tenants.by_id(user.tenant_id)
        role = self.roles.get(tenant, user.role)
        categories = None if ALL_CATEGORIES in role.categories else role.categories
        return Principal(tenant, role.permissions, categories, user=user, session=session)

    # -- listing and ending --------------------------------------------------

    def live(self, principal: Principal, *, everyone: bool) -> list[Session]:
        """The caller's live sessions, or (``everyone``, needs users.manage) the
        tenant's."""
        if everyone:
            principal.require("users.manage")
        user_id = None if everyone else (principal.user.id if principal.user else -1)
        return self.store.accounts.live_sessions(principal.tenant.id, user_id, self.clock(),
                                                 self.idle_us)

    def revoke(self, principal: Principal, session_id: str, context: RequestContext) -> None:
        """End a session: one's own, or (with users.manage) anyone's in the tenant."""
        session = self.store.accounts.get_session(principal.tenant.id, session_id)
        if session is None:
            raise NotFound("no such session", [ErrorDetail("session_id", session_id)])
        own = principal.user is not None and session.user_id == principal.user.id
        owner = self.store.accounts.get_user(session.user_id)
        if not own:
            principal.require("users.manage")
            if owner is not None and owner.role == "owner" and (
                    principal.user is None or principal.user.role != "owner"):
                raise Forbidden("only an owner can end an owner's session",
                                [ErrorDetail("session_id", "an owner's session")])
        if not self.store.accounts.revoke_session(session.id, self.clock(), principal.label):
            raise NotFound("that session has already ended",
                           [ErrorDetail("session_id", session_id)])
        owner = self.store.accounts.get_user(session.user_id)
        self.audit.admin(principal.tenant, principal, context, "session.revoke", "delete",
                         {"type": "session", "id": session.id,
                          "name": owner.email if owner else None},
                         [{"field": "revoked", "old": False, "new": True}])

    def logout(self, principal: Principal, context: RequestContext) -> None:
        if principal.session is None or principal.user is None:
            return
        self.store.accounts.revoke_session(principal.session.id, self.clock(), "sign-out")
        self._audit_auth(principal.user, context, "auth.logout", "logout",
                         session_id=principal.session.id)
