"""Staff users: add, change, disable, reset passwords; owners kept safe."""

from __future__ import annotations

import re

from trailbook.errors import ErrorDetail, Forbidden, NotFound, ValidationFailed, field_error
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import CLI, REDACTED, RequestContext, SelfAudit, change_list
from trailbook.service.access.passwords import Passwords, check_policy, one_time_password
from trailbook.service.access.principal import Principal
from trailbook.service.access.roles import RoleService
from trailbook.store.base import Store
from trailbook.store.records import Tenant, User

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254
MAX_NAME = 200


def normal_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL or not EMAIL_RE.match(cleaned):
        raise field_error("email", "not an email address")
    return cleaned


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_NAME:
        raise field_error("name", f"use 1-{MAX_NAME} characters")
    return cleaned


def user_target(user: User) -> dict[str, str]:
    return {"type": "user", "id": f"user:{user.id}", "name": user.email}


def _shown(user: User) -> dict[str, object]:
    return {"email": user.email, "name": user.name, "role": user.role,
            "disabled": user.disabled_at is not None}


class UserService:
    def __init__(self, store: Store, roles: RoleService, passwords: Passwords,
                 audit: SelfAudit) -> None:
        self.store = store
        self.roles = roles
        self.passwords = passwords
        self.audit = audit

    # -- reading -------------------------------------------------------------

    def all(self, tenant: Tenant) -> list[User]:
        return self.store.accounts.list_users(tenant.id)

    def get(self, tenant: Tenant, user_id: int) -> User:
        user = self.store.accounts.get_user(user_id)
        if user is None or user.tenant_id != tenant.id:  # another tenant's: not found
            raise NotFound("no such user", [ErrorDetail("user_id", str(user_id))])
        return user

    def by_email(self, tenant: Tenant, email: str) -> User:
        user = self.store.accounts.find_user(email.strip().lower())
        if user is None or user.tenant_id != tenant.id:
            raise NotFound(f"no user {email!r} in {tenant.name}",
                           [ErrorDetail("email", "not found")])
        return user

    # -- rules ---------------------------------------------------------------

    @staticmethod
    def _guard_owner(by: Principal | None, role: str) -> None:
        """Only an owner (or the server's command line) makes, changes or removes
        owners."""
        if role == "owner" and by is not None and (by.user is None or by.user.role != "owner"):
            raise Forbidden("only an owner can make, change or remove owners",
                            [ErrorDetail("role", "owner")])

    def _guard_grant(self, tenant: Tenant, by: Principal | None, role: str) -> None:
        """Staff give only roles whose rights they hold themselves, and never change
        their own role (the command line on the server may do both)."""
        if by is None:
            return
        spec = self.roles.get(tenant, role)
        if not by.may_grant(spec.permissions, spec.categories):
            raise Forbidden(f"the role {role!r} gives more than you hold",
                            [ErrorDetail("role", "you can only give roles within your own "
                                                 "permissions and categories")])

    def _active_owners(self, tenant: Tenant) -> list[User]:
        return [u for u in self.all(tenant) if u.role == "owner" and u.disabled_at is None]

    # -- changes -------------------------------------------------------------

    def add(self, tenant: Tenant, email: str, name: str, role: str, password: str | None,
            *, by: Principal | None, context: RequestContext) -> tuple[User, str | None]:
        """Add a user. Without ``password`` a one-time password is made, returned once,
        and must be changed at first sign-in."""
        email = normal_email(email)
        name = _clean_name(name.strip() or email)
        self.roles.get(tenant, role)
        self._guard_owner(by, role)
        self._guard_grant(tenant, by, role)
        issued = None
        if password is None:
            password = issued = one_time_password()
        else:
            check_policy(password, email)
        user = self.store.accounts.add_user(tenant.id, email, name, role,
                                            self.passwords.hash(password), issued is not None,
                                            format_us(now_us()))
        self.audit.admin(tenant, by, context, "user.create", "create", user_target(user),
                         change_list({}, {**_shown(user), "password": REDACTED}))
        return user, issued

    def ensure_first_owner(self, tenant: Tenant, email: str, password: str | None
                           ) -> tuple[User, str | None] | None:
        """The first run's owner: made when ``tenant`` has no users yet, with
        ``password`` (if given) or a one-time password, returned once. None when the
        tenant has users already."""
        if self.all(tenant):
            return None
        return self.add(tenant, email, "Owner", "owner", password or None, by=None,
                        context=CLI)

    def update(self, tenant: Tenant, user_id: int, *, name: str | None = None,
               role: str | None = None, disabled: bool | None = None,
               by: Principal | None, context: RequestContext) -> User:
        user = self.get(tenant, user_id)
        self._guard_owner(by, user.role)  # an owner is changed only by an owner
        changes: dict[str, object] = {}
        if name is not None and _clean_name(name) != user.name:
            changes["name"] = _clean_name(name)
        if role is not None and role != user.role:
            self.roles.get(tenant, role)
            self._guard_owner(by, role)
            if by is not None and by.user is not None and by.user.id == user.id:
                raise Forbidden("you cannot change your own role",
                                [ErrorDetail("role", "ask another admin")])
            self._guard_grant(tenant, by, role)
            changes["role"] = role
        if disabled is not None and disabled != (user.disabled_at is not None):
            self._guard_owner(by, user.role)
            if disabled and by is not None and by.user is not None and by.user.id == user.id:
                raise ValidationFailed("you cannot disable your own account",
                                       [ErrorDetail("disabled", "ask another admin")])
            changes["disabled_at"] = format_us(now_us()) if disabled else None
        if not changes:
            return user
        losing_owner = user.role == "owner" and user.disabled_at is None and (
            changes.get("role", "owner") != "owner" or changes.get("disabled_at"))
        if losing_owner and len(self._active_owners(tenant)) <= 1:
            raise ValidationFailed("a tenant keeps at least one active owner",
                                   [ErrorDetail("role" if "role" in changes else "disabled",
                                                f"{user.email} is the last owner")])
        self.store.accounts.update_user(user.id, changes)
        if changes.get("disabled_at") or "role" in changes:
            # A disabled user is signed out everywhere; a new role starts afresh.
            self.store.accounts.revoke_user_sessions(user.id, now_us(), "user changed")
        updated = self.get(tenant, user.id)
        action = ("user.disable" if changes.get("disabled_at") else
                  "user.enable" if "disabled_at" in changes else "user.update")
        self.audit.admin(tenant, by, context, action, "update", user_target(updated),
                         change_list(_shown(user), _shown(updated)))
        return updated

    def reset_password(self, tenant: Tenant, user_id: int, *, by: Principal | None,
                       context: RequestContext) -> str:
        """A new one-time password for the user (returned once); their sessions end."""
        user = self.get(tenant, user_id)
        self._guard_owner(by, user.role)
        issued = one_time_password()
        self.store.accounts.update_user(user.id, {"password_hash": self.passwords.hash(issued),
                                                  "must_change": True})
        self.store.accounts.revoke_user_sessions(user.id, now_us(), "password reset")
        self.audit.admin(tenant, by, context, "user.password_reset", "update",
                         user_target(user),
                         [{"field": "password", "old": REDACTED, "new": REDACTED}])
        return issued

    def change_own_password(self, principal: Principal, current: str, new: str,
                            context: RequestContext) -> None:
        user = principal.user
        if user is None:
            raise Forbidden("only staff users have passwords",
                            [ErrorDetail("authorization", "sign in as a user")])
        fresh = self.store.accounts.get_user(user.id)
        if fresh is None or not self.passwords.verify(fresh.password_hash, current):
            raise field_error("current_password", "is not your current password")
        check_policy(new, user.email, "new_password")
        if new == current:
            raise field_error("new_password", "must differ from the current one")
        self.store.accounts.update_user(user.id, {"password_hash": self.passwords.hash(new),
                                                  "must_change": False})
        keep = principal.session.id if principal.session else None
        self.store.accounts.revoke_user_sessions(user.id, now_us(), "password changed", keep)
        self.audit.admin(principal.tenant, principal, context, "user.password_change",
                         "update", user_target(user),
                         [{"field": "password", "old": REDACTED, "new": REDACTED}])
