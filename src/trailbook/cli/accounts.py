"""Commands for staff accounts: ``user`` (add, list, disable, enable, set-role,
reset-password) and ``role`` (list, permissions, create, update, delete).

Everything goes through the service layer as the server's command line (``by=None``,
context CLI), so each change is audited in the tenant's own trail."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from trailbook.cli.common import (
    TenantOption,
    comma_list,
    console,
    fail,
    handle_errors,
    open_trailbook,
    pick_tenant,
    print_once,
)
from trailbook.errors import Conflict
from trailbook.service.access.audit import CLI
from trailbook.service.access.permissions import ALL_CATEGORIES, PERMISSIONS, RoleSpec
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant, User

user_app = typer.Typer(help="Staff users who sign in to Trailbook.", no_args_is_help=True)
role_app = typer.Typer(help="Roles: what staff users may do and read.", no_args_is_help=True)


def print_first_owner(tb: Trailbook, tenant: Tenant) -> None:
    """Make the tenant's first owner if it has no users, and say how to sign in."""
    try:
        made = tb.users.ensure_first_owner(tenant, tb.settings.owner_email,
                                           tb.settings.owner_password)
    except Conflict:  # that email has an account in another tenant already
        console.print(f"No owner made for {tenant.name}: {tb.settings.owner_email} has an "
                      "account in another tenant. Make one with 'trailbook user add "
                      f"EMAIL --role owner --tenant {tenant.name}'.")
        return
    if made is None:
        return
    user, issued = made
    console.print(f"Owner of tenant [bold]{tenant.name}[/]: {user.email}")
    if issued:
        print_once("One-time password (shown once; choose your own at first sign-in):",
                   issued)
    else:
        console.print("Password: the one in TRAILBOOK_OWNER_PASSWORD")


def _state(user: User) -> str:
    if user.disabled_at is not None:
        return f"disabled {user.disabled_at}"
    if user.must_change_password:
        return "must change password"
    return "active"


def _permissions(role: RoleSpec) -> str:
    """The role's permissions in the order of PERMISSIONS."""
    return ", ".join(p for p in PERMISSIONS if p in role.permissions) or "-"


def _categories(role: RoleSpec) -> str:
    if role.all_categories:
        return f"all ({ALL_CATEGORIES})"
    return ", ".join(role.categories) or "-"


def _describe(role: RoleSpec) -> str:
    return f"permissions: {_permissions(role)}; categories: {_categories(role)}"


# -- user -------------------------------------------------------------------------------


@user_app.command("add")
@handle_errors
def user_add(
    ctx: typer.Context,
    email: str,
    role: str = typer.Option(..., "--role", help="Built-in or custom role name."),
    name: str = typer.Option("", "--name", help="Display name (default: the email)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin",
        help="Read the password from one line of standard input instead of making a "
        "one-time password."),
    tenant: str | None = TenantOption,
) -> None:
    """Add a staff user; without --password-stdin a one-time password is printed once."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        user, issued = tb.users.add(chosen, email, name, role, password, by=None,
                                    context=CLI)
        console.print(f"added user {user.email} ({user.name}) with role {user.role} to "
                      f"tenant {chosen.name}", highlight=False)
        if issued:
            print_once("One-time password (shown once; it must be changed at first "
                       "sign-in):", issued)


@user_app.command("list")
@handle_errors
def user_list(ctx: typer.Context, tenant: str | None = TenantOption) -> None:
    """List a tenant's staff users (never their passwords)."""
    with open_trailbook(ctx, migrate=False) as tb:
        table = Table("id", "email", "name", "role", "state", "last sign-in")
        for u in tb.users.all(pick_tenant(tb, tenant)):
            table.add_row(str(u.id), u.email, u.name, u.role, _state(u),
                          u.last_login_at or "-")
        console.print(table)


def _set_disabled(ctx: typer.Context, email: str, tenant: str | None,
                  disabled: bool) -> None:
    word = "disabled" if disabled else "enabled"
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        user = tb.users.by_email(chosen, email)
        if (user.disabled_at is not None) == disabled:
            console.print(f"{user.email} is already {word}", highlight=False)
            return
        tb.users.update(chosen, user.id, disabled=disabled, by=None, context=CLI)
        ended = " (their sessions were ended)" if disabled else ""
        console.print(f"{word} user {user.email}{ended}", highlight=False)


@user_app.command("disable")
@handle_errors
def user_disable(ctx: typer.Context, email: str, tenant: str | None = TenantOption) -> None:
    """Disable a user: they cannot sign in, and their sessions end."""
    _set_disabled(ctx, email, tenant, True)


@user_app.command("enable")
@handle_errors
def user_enable(ctx: typer.Context, email: str, tenant: str | None = TenantOption) -> None:
    """Enable a disabled user again."""
    _set_disabled(ctx, email, tenant, False)


@user_app.command("set-role")
@handle_errors
def user_set_role(ctx: typer.Context, email: str, role: str,
                  tenant: str | None = TenantOption) -> None:
    """Give a user another role (their sessions end)."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        user = tb.users.by_email(chosen, email)
        if user.role == role:
            console.print(f"{user.email} already has role {role}", highlight=False)
            return
        updated = tb.users.update(chosen, user.id, role=role, by=None, context=CLI)
        console.print(f"{updated.email} now has role {updated.role} (was {user.role})",
                      highlight=False)


@user_app.command("reset-password")
@handle_errors
def user_reset_password(ctx: typer.Context, email: str,
                        tenant: str | None = TenantOption) -> None:
    """Give a user a new one-time password, printed once; their sessions end."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        user = tb.users.by_email(chosen, email)
        issued = tb.users.reset_password(chosen, user.id, by=None, context=CLI)
        print_once(f"New one-time password for {user.email} (shown once; it must be "
                   "changed at the next sign-in; their sessions were ended):", issued)


# -- role -------------------------------------------------------------------------------


@role_app.command("list")
@handle_errors
def role_list(ctx: typer.Context, tenant: str | None = TenantOption) -> None:
    """List the built-in roles and the tenant's own, with permissions and categories."""
    with open_trailbook(ctx, migrate=False) as tb:
        table = Table("role", "kind", "permissions", "categories", "description")
        for r in tb.roles.all(pick_tenant(tb, tenant)):
            table.add_row(r.name, "built-in" if r.builtin else "custom", _permissions(r),
                          _categories(r), r.description or "-")
        console.print(table)


@role_app.command("permissions")
def role_permissions() -> None:
    """List every permission a role can hold, with what it allows."""
    table = Table("permission", "allows")
    for name, description in PERMISSIONS.items():
        table.add_row(name, description)
    console.print(table)


@role_app.command("create")
@handle_errors
def role_create(
    ctx: typer.Context,
    name: str,
    permissions: str = typer.Option(..., "--permissions",
                                    help="Comma-separated permissions (see 'role "
                                    "permissions')."),
    categories: str = typer.Option("", "--categories",
                                   help="Comma-separated categories the role reads, or "
                                   "'*' for all."),
    tenant: str | None = TenantOption,
) -> None:
    """Create a custom role."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        role = tb.roles.create(chosen, name, comma_list(permissions), comma_list(categories),
                               by=None, context=CLI)
        console.print(f"created role {role.name} in tenant {chosen.name} "
                      f"({_describe(role)})", highlight=False)


@role_app.command("update")
@handle_errors
def role_update(
    ctx: typer.Context,
    name: str,
    permissions: str | None = typer.Option(None, "--permissions",
                                           help="The new comma-separated permissions."),
    categories: str | None = typer.Option(None, "--categories",
                                          help="The new comma-separated categories, or "
                                          "'*'."),
    tenant: str | None = TenantOption,
) -> None:
    """Change a custom role's permissions, categories or both (each replaced whole)."""
    if permissions is None and categories is None:
        fail("nothing to change: give --permissions, --categories or both")
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        role = tb.roles.update(chosen, name,
                               None if permissions is None else comma_list(permissions),
                               None if categories is None else comma_list(categories),
                               by=None, context=CLI)
        console.print(f"updated role {role.name} ({_describe(role)})", highlight=False)


@role_app.command("delete")
@handle_errors
def role_delete(ctx: typer.Context, name: str, tenant: str | None = TenantOption) -> None:
    """Delete a custom role that no user holds."""
    with open_trailbook(ctx) as tb:
        tb.roles.delete(pick_tenant(tb, tenant), name, by=None, context=CLI)
        console.print(f"deleted role {name}", highlight=False)


__all__ = ["print_first_owner", "role_app", "user_app"]
