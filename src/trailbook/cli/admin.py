"""Commands that set Trailbook up and look after it: init, migrate, tenant, key."""

from __future__ import annotations

import typer
from rich.table import Table

from trailbook.cli import accounts
from trailbook.cli.common import (
    TenantOption,
    comma_list,
    console,
    fail,
    handle_errors,
    open_trailbook,
    pick_tenant,
    print_once,
    state,
)
from trailbook.model.timefmt import now_us, parse_rfc3339
from trailbook.service.app import Trailbook
from trailbook.store import open_store

tenant_app = typer.Typer(help="Tenants and their categories.", no_args_is_help=True)
key_app = typer.Typer(help="API keys (scopes: ingest, read).", no_args_is_help=True)


def _print_secret(secret: str, tenant: str, scopes: tuple[str, ...]) -> None:
    print_once(f"API key for tenant [bold]{tenant}[/] (scopes: {', '.join(scopes)}). "
               "It is shown once; keep it safe:", secret)


@handle_errors
def init(
    ctx: typer.Context,
    tenant: str = typer.Option("default", "--tenant", "-t", help="Name of the first tenant."),
    key_name: str = typer.Option("first key", help="Name of the API key to make."),
) -> None:
    """Create the database, the signing key, a tenant and its first API key."""
    with open_trailbook(ctx) as tb:
        created = tb.tenants.create(tenant)
        _, secret = tb.keys.create(created, key_name, ("ingest", "read"))
        console.print(f"Database: {tb.store.url}")
        console.print(f"Signing key: {tb.settings.resolved_signing_key_path} "
                      f"(key id {tb.signer.key_id})")
        _print_secret(secret, created.name, ("ingest", "read"))
        accounts.print_first_owner(tb, created)


@handle_errors
def migrate(
    ctx: typer.Context,
    status: bool = typer.Option(False, "--status", help="Show the schema version only."),
) -> None:
    """Apply schema migrations (or show where the database stands)."""
    settings = state(ctx).settings()
    store = open_store(settings, create=not status)
    try:
        if status:
            current, latest = store.schema_version()
            word = "up to date" if current == latest else f"{latest - current} to apply"
            console.print(f"{store.url}: schema version {current} of {latest} ({word})")
            return
        applied = store.migrate()
        if applied:
            console.print(f"applied migrations {', '.join(map(str, applied))}")
        else:
            console.print("nothing to apply: the schema is up to date")
    finally:
        store.close()


@tenant_app.command("create")
@handle_errors
def tenant_create(ctx: typer.Context, name: str) -> None:
    """Create a tenant (then make it a key with 'trailbook key create')."""
    with open_trailbook(ctx) as tb:
        created = tb.tenants.create(name)
        console.print(f"created tenant {created.name}")


@tenant_app.command("list")
@handle_errors
def tenant_list(ctx: typer.Context) -> None:
    """List tenants with their event counts."""
    with open_trailbook(ctx, migrate=False) as tb:
        table = Table("tenant", "events", "created", "own categories")
        for t in tb.tenants.all():
            head = tb.store.chain_head(t.id)
            table.add_row(t.name, f"{head.seq if head else 0:,}", t.created_at,
                          ", ".join(t.categories) or "-")
        console.print(table)


@tenant_app.command("add-category")
@handle_errors
def tenant_add_category(ctx: typer.Context, category: str,
                        tenant: str | None = TenantOption) -> None:
    """Add a category of the tenant's own beyond the seven defaults."""
    with open_trailbook(ctx) as tb:
        updated = tb.tenants.add_category(pick_tenant(tb, tenant), category)
        console.print(f"{updated.name} categories: {', '.join(tb.tenants.categories(updated))}")


@key_app.command("create")
@handle_errors
def key_create(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="What the key is for."),
    scopes: str = typer.Option("ingest,read", help="Comma-separated: ingest, read."),
    expires: str | None = typer.Option(None, help="RFC 3339 expiry time."),
    tenant: str | None = TenantOption,
) -> None:
    """Make an API key; the secret is printed once."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        wanted = tuple(comma_list(scopes))
        key, secret = tb.keys.create(chosen, name, wanted, expires)
        _print_secret(secret, chosen.name, key.scopes)


@key_app.command("list")
@handle_errors
def key_list(ctx: typer.Context, tenant: str | None = TenantOption) -> None:
    """List a tenant's API keys (never their secrets)."""
    with open_trailbook(ctx, migrate=False) as tb:
        table = Table("id", "name", "prefix", "scopes", "created", "last used", "state")
        for k in tb.keys.for_tenant(pick_tenant(tb, tenant)):
            if k.revoked_at:
                st = f"revoked {k.revoked_at}"
            elif k.expires_at and parse_rfc3339(k.expires_at) <= now_us():
                st = f"expired {k.expires_at}"
            else:
                st = f"expires {k.expires_at}" if k.expires_at else "active"
            table.add_row(str(k.id), k.name, k.prefix + "…", ",".join(k.scopes), k.created_at,
                          k.last_used_at or "-", st)
        console.print(table)


@key_app.command("revoke")
@handle_errors
def key_revoke(ctx: typer.Context, key_id: int, tenant: str | None = TenantOption) -> None:
    """Revoke an API key by its id."""
    with open_trailbook(ctx) as tb:
        tb.keys.revoke(pick_tenant(tb, tenant), key_id)
        console.print(f"revoked key {key_id}")


def ensure_demo_key(tb: Trailbook, tenant_name: str, key_file: str | None) -> str:
    """The demo key kept in ``key_file`` if still valid, else a new one written there."""
    from pathlib import Path

    from trailbook.errors import Unauthenticated

    tenant = tb.tenants.get(tenant_name)
    if key_file:
        path = Path(key_file)
        if path.exists():
            secret = path.read_text().strip()
            try:
                if tb.keys.authenticate(secret).tenant.id == tenant.id:
                    return secret
            except Unauthenticated:
                pass
    _, secret = tb.keys.create(tenant, "demo", ("ingest", "read"))
    if key_file:
        path = Path(key_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secret + "\n")
        path.chmod(0o600)
    return secret


__all__ = ["ensure_demo_key", "fail", "init", "key_app", "migrate", "tenant_app"]
