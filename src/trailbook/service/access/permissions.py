"""Permissions and the built-in roles.

A role holds permissions and the categories its holders may read (``*`` for all).
Built-in roles are defined here and cannot be changed; a tenant adds its own."""

from __future__ import annotations

from dataclasses import dataclass

ALL_CATEGORIES = "*"

# Every permission, with what it allows (shown by `trailbook role permissions` and the
# roles API).
PERMISSIONS: dict[str, str] = {
    "events.read": "search and read events of the role's categories",
    "personal_data": "see emails and IP addresses unmasked",
    "events.export": "export events",
    "events.annotate": "comment on and tag events",
    "integrity.verify": "verify the chain and read checkpoints",
    "users.manage": "add, change and disable staff users; revoke their sessions",
    "roles.manage": "create, change and delete custom roles",
    "keys.manage": "create, list and revoke API keys",
    "rules.manage": "manage notification rules",
    "retention.manage": "manage retention and legal holds",
    "logs.read": "read Trailbook's own server logs",
    "logs.delete": "delete Trailbook's own server logs",
}
EVERY_PERMISSION = frozenset(PERMISSIONS)


@dataclass(frozen=True, slots=True)
class RoleSpec:
    name: str
    permissions: frozenset[str]
    categories: tuple[str, ...]  # (ALL_CATEGORIES,) or the readable categories
    builtin: bool
    description: str = ""

    @property
    def all_categories(self) -> bool:
        return ALL_CATEGORIES in self.categories


_READ_ONLY = frozenset({"events.read", "personal_data", "events.export", "integrity.verify",
                        "logs.read"})

BUILTIN_ROLES: dict[str, RoleSpec] = {
    "owner": RoleSpec("owner", EVERY_PERMISSION, (ALL_CATEGORIES,), True,
                      "everything, including other owners"),
    "admin": RoleSpec("admin", EVERY_PERMISSION, (ALL_CATEGORIES,), True,
                      "everything, but cannot make, change or remove owners"),
    "auditor": RoleSpec("auditor", _READ_ONLY, (ALL_CATEGORIES,), True,
                        "read and export everything, change nothing"),
    "analyst": RoleSpec("analyst", frozenset({"events.read", "personal_data",
                                              "events.annotate"}),
                        ("general", "device", "client", "task", "system"), True,
                        "read operational categories (not access or admin), annotate;"
                        " no export"),
    "viewer": RoleSpec("viewer", frozenset({"events.read"}), (ALL_CATEGORIES,), True,
                       "read, with personal data masked"),
}

# What each API-key scope grants (keys are machine credentials: no staff management).
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"events.ingest"}),
    "read": frozenset({"events.read", "personal_data", "events.export", "integrity.verify"}),
}
