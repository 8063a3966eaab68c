"""Commands for staff users' saved searches: ``saved`` (list, add, delete); ``trailbook
search --saved NAME --user EMAIL`` runs one.

The operator acts for the user named by ``--user``, through the same service as the
API and the console (so the same rules hold: a query that parses, known filters, a
name unique for the user). Saved searches are personal, so nothing is audited."""

from __future__ import annotations

import orjson
import typer
from rich.table import Table

from trailbook.cli.common import (
    TenantOption,
    console,
    fail,
    handle_errors,
    open_trailbook,
    pick_tenant,
)
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.store.records import SavedSearch, Tenant

saved_app = typer.Typer(help="Staff users' saved searches (run one with 'trailbook search "
                        "--saved NAME --user EMAIL').", no_args_is_help=True)
UserOption = typer.Option(..., "--user", "-u", help="Email of the staff user whose saved "
                          "searches these are.")


def as_user(tb: Trailbook, tenant: Tenant, email: str) -> Principal:
    """The tenant's staff user of ``email``, as the caller of the service."""
    return tb.sessions.principal_of(tb.users.by_email(tenant, email))


def find_saved(tb: Trailbook, tenant: Tenant, email: str, name: str) -> SavedSearch:
    return tb.saved_searches.find(as_user(tb, tenant, email), name)


def _params(values: list[str]) -> dict[str, list[str]]:
    """``--param key=value`` options as parameters (a key may repeat)."""
    params: dict[str, list[str]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param {item!r}: use KEY=VALUE, e.g. --param last=24h")
        params.setdefault(key.strip(), []).append(value)
    return params


def _filters(saved: SavedSearch) -> str:
    return "; ".join(f"{k}={','.join(v)}" for k, v in saved.params.items()) or "-"


@saved_app.command("list")
@handle_errors
def saved_list(
    ctx: typer.Context,
    user: str = UserOption,
    tenant: str | None = TenantOption,
    as_json: bool = typer.Option(False, "--json", help="Print them as JSON."),
) -> None:
    """List a user's saved searches, by name."""
    with open_trailbook(ctx, migrate=False) as tb:
        chosen = pick_tenant(tb, tenant)
        found = tb.saved_searches.list(as_user(tb, chosen, user))
    if as_json:
        from trailbook.api.saved_searches import saved_json  # the API's shape, with url

        print(orjson.dumps({"saved_searches": [saved_json(s) for s in found]}).decode())
        return
    if not found:
        console.print(f"{user} has no saved searches", style="dim", highlight=False)
        return
    table = Table("id", "name", "query", "filters", "updated (UTC)")
    for s in found:
        table.add_row(str(s.id), s.name, s.query or "-", _filters(s),
                      s.updated_at[:19].replace("T", " "))
    console.print(table)


@saved_app.command("add")
@handle_errors
def saved_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The name, 1-100 characters, unique for the user "
                               "(whatever its case)."),
    query: str = typer.Argument("", help='The query language, e.g. \'action:user.login '
                                'result:failure\'; may be left out.'),
    param: list[str] = typer.Option([], "--param", "-p", help="Another filter parameter "
                                    "as KEY=VALUE (repeatable), e.g. --param last=24h."),
    user: str = UserOption,
    tenant: str | None = TenantOption,
) -> None:
    """Save a search for a user (the query must parse)."""
    params = _params(param)
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        made = tb.saved_searches.save(as_user(tb, chosen, user), name, query, params)
    console.print(f"saved search {made.id} {made.name!r} for {user}", highlight=False)


@saved_app.command("delete")
@handle_errors
def saved_delete(
    ctx: typer.Context,
    search_id: int = typer.Argument(..., metavar="ID", help="The id 'saved list' shows."),
    user: str = UserOption,
    tenant: str | None = TenantOption,
) -> None:
    """Delete one of a user's saved searches."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        principal = as_user(tb, chosen, user)
        found = tb.saved_searches.get(principal, search_id)
        tb.saved_searches.delete(principal, search_id)
    console.print(f"deleted saved search {found.id} {found.name!r} of {user}",
                  highlight=False)


__all__ = ["find_saved", "saved_app"]
