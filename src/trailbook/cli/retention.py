"""Commands for retention: ``retention policy`` (list, set, delete: how long each
category of events is kept) and ``retention hold`` (list, add, release: legal holds,
whose events no purge removes). They go through the same service as the API and the
console, so the same checks hold, and every change is audited with the CLI as actor."""

from __future__ import annotations

from typing import Any

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
from trailbook.service.access.audit import CLI, cli_actor
from trailbook.service.retention.rules import (
    DEFAULT_CATEGORY,
    MAX_DAYS,
    categories_view,
    hold_view,
    policy_view,
)

retention_app = typer.Typer(help="Retention: how long events are kept, legal holds, and "
                            "purge runs.", no_args_is_help=True)
policy_app = typer.Typer(help="How many days each category's events are kept.",
                         no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds: queries whose events are never purged until "
                       "released.", no_args_is_help=True)
retention_app.add_typer(policy_app, name="policy")
retention_app.add_typer(hold_app, name="hold")

FOREVER = "forever"


def days(text: str) -> int | None:
    """``90`` or ``90d`` (days), or ``forever`` (None)."""
    given = text.strip().lower()
    if given == FOREVER:
        return None
    number = given[:-1] if given.endswith("d") else given
    if not number.isdigit():
        fail(f"DAYS {text!r}: a whole number of days (1-{MAX_DAYS}), or 'forever'")
    return int(number)


def kept(keep_days: int | None) -> str:
    return FOREVER if keep_days is None else f"{keep_days} days"


def _category_label(category: str) -> str:
    return "* (default)" if category == DEFAULT_CATEGORY else category


def _print_json(data: Any) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


# -- policies ----------------------------------------------------------------

@policy_app.command("list")
@handle_errors
def policy_list(ctx: typer.Context, tenant: str | None = TenantOption,
                as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The policies set, and how long each category's events are kept."""
    with open_trailbook(ctx, migrate=False) as tb:
        chosen = pick_tenant(tb, tenant)
        found = tb.retention_rules.list_policies(None, chosen)
    policies = [policy_view(p) for p in found]
    categories = categories_view(chosen, found)
    if as_json:
        _print_json({"policies": policies, "categories": categories})
        return
    table = Table("category", "kept", "by", "set by", "set at (UTC)")
    own = {p["category"]: p for p in policies}
    default = own.get(DEFAULT_CATEGORY)
    if default is not None:
        table.add_row(_category_label(DEFAULT_CATEGORY), kept(default["keep_days"]),
                      "policy", default["updated_by"],
                      default["updated_at"][:19].replace("T", " "))
    for c in categories:
        policy = own.get(c["category"])
        how = {"own": "policy", "default": "the default", "none": "no policy"}[c["source"]]
        table.add_row(c["category"], kept(c["keep_days"]), how,
                      policy["updated_by"] if policy else "",
                      policy["updated_at"][:19].replace("T", " ") if policy else "")
    console.print(table)


@policy_app.command("set")
@handle_errors
def policy_set(
    ctx: typer.Context,
    category: str = typer.Argument(..., help="A category, or 'default' (also '*') for the "
                                   "categories without a policy of their own."),
    keep: str = typer.Argument(..., metavar="DAYS|forever", help="Days to keep the events "
                               f"(1-{MAX_DAYS}), or 'forever'."),
    tenant: str | None = TenantOption,
) -> None:
    """Keep a category's events DAYS days (or forever), e.g. 'set access 365',
    'set default 730', 'set admin forever'."""
    keep_days = days(keep)
    with open_trailbook(ctx) as tb:
        made = tb.retention_rules.set_policy(None, pick_tenant(tb, tenant), category,
                                             keep_days, CLI)
    console.print(f"{_category_label(made.category)}: events kept {kept(made.keep_days)}",
                  highlight=False)


@policy_app.command("delete")
@handle_errors
def policy_delete(
    ctx: typer.Context,
    category: str = typer.Argument(..., help="A category, or 'default' (also '*')."),
    tenant: str | None = TenantOption,
) -> None:
    """Remove a category's own policy (its events then follow the default)."""
    with open_trailbook(ctx) as tb:
        gone = tb.retention_rules.delete_policy(None, pick_tenant(tb, tenant), category, CLI)
    follows = ("kept forever where no category has its own policy"
               if gone.category == DEFAULT_CATEGORY else "following the default")
    console.print(f"policy of {_category_label(gone.category)} removed; events are "
                  f"{follows}", highlight=False)


# -- legal holds ---------------------------------------------------------------

@hold_app.command("list")
@handle_errors
def hold_list(
    ctx: typer.Context,
    everything: bool = typer.Option(False, "--all", help="Also the released holds."),
    tenant: str | None = TenantOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The active legal holds, newest first (--all: the released ones too)."""
    with open_trailbook(ctx, migrate=False) as tb:
        found = tb.retention_rules.list_holds(None, pick_tenant(tb, tenant), everything)
    holds = [hold_view(h) for h in found]
    if as_json:
        _print_json({"holds": holds})
        return
    table = Table("id", "name", "query", "reason", "placed (UTC)", "by", "released")
    for h in holds:
        released = ("" if h["active"] else
                    f"{h['released_at'][:19].replace('T', ' ')} by {h['released_by']}: "
                    f"{h['release_reason']}")
        table.add_row(h["id"], h["name"], h["query"], h["reason"],
                      h["created_at"][:19].replace("T", " "), h["created_by"], released)
    console.print(table if holds else "no legal holds" if everything else
                  "no active legal holds (--all lists released ones)")


@hold_app.command("add")
@handle_errors
def hold_add(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help="A name for the hold."),
    query: str = typer.Option(..., "--query", "-q", help="Which events it holds (the "
                              "query language; no last: or tag:)."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why they are held."),
    tenant: str | None = TenantOption,
) -> None:
    """Hold events from purges, e.g. --name 'Dispute 4471' --query 'target.id:acct-4471'
    --reason 'billing dispute, ticket 4471'."""
    with open_trailbook(ctx) as tb:
        made = tb.retention_rules.create_hold(None, pick_tenant(tb, tenant), name, query,
                                              reason, CLI)
    console.print(f"legal hold {made.name!r} placed: {made.id}", highlight=False)


@hold_app.command("release")
@handle_errors
def hold_release(
    ctx: typer.Context,
    hold_id: str = typer.Argument(..., metavar="ID", help="The hold (see 'hold list')."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why the hold ends."),
    tenant: str | None = TenantOption,
) -> None:
    """Release a legal hold: its events may be purged again, as their policy says."""
    with open_trailbook(ctx) as tb:
        released = tb.retention_rules.release_hold(None, pick_tenant(tb, tenant), hold_id,
                                                   reason, CLI)
    console.print(f"legal hold {released.name!r} released", highlight=False)


# -- purge runs ----------------------------------------------------------------

@retention_app.command("run")
@handle_errors
def run(ctx: typer.Context, tenant: str | None = TenantOption,
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")
        ) -> None:
    """Run retention now: archive, then purge, what the policies let go (the server
    also runs it every task_retention_seconds)."""
    with open_trailbook(ctx) as tb:
        report = tb.retention.run(pick_tenant(tb, tenant), actor=cli_actor())
    if as_json:
        _print_json(report.as_dict())
    else:
        console.print(f"{report.purged:,} event(s) purged in {len(report.purges)} purge(s)"
                      + (f", {report.held:,} held" if report.held else "")
                      + (f", {report.awaiting_checkpoint:,} wait for a checkpoint"
                         if report.awaiting_checkpoint else ""), highlight=False)
        for purge in report.purges:
            console.print(f"  archive {purge.archive} (seqs {purge.first_seq}-"
                          f"{purge.last_seq}, {purge.events:,} events)", highlight=False)
        for name in report.partitions_dropped:
            console.print(f"  partition {name} dropped", highlight=False)
    if report.error is not None:
        fail(f"the retention run failed: {report.error} (every purge made before it is "
             "whole and recorded)")


@retention_app.command("runs")
@handle_errors
def runs(ctx: typer.Context, tenant: str | None = TenantOption,
         limit: int = typer.Option(20, "--limit", min=1, max=1000),
         as_json: bool = typer.Option(False, "--json", help="Print the purges as JSON.")
         ) -> None:
    """The purges retention made, newest first, with their archives."""
    with open_trailbook(ctx) as tb:
        records = tb.retention.purges_of(pick_tenant(tb, tenant), limit)
    if as_json:
        _print_json([r.as_dict() for r in records])
        return
    if not records:
        console.print("no purges yet")
        return
    table = Table("when", "events", "seqs", "archive", "new start")
    for r in records:
        table.add_row(r.created_at, f"{r.events:,}", f"{r.first_seq}-{r.last_seq}",
                      r.archive, f"seq {r.start_seq}")
    console.print(table)
