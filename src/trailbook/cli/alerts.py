"""Commands for alerts: ``alerts channel`` (add, list, test, remove), ``alerts rule``
(add, list, enable, disable, remove), ``alerts deliveries`` (the outbox, its dead
letters) and ``alerts retry``. They go through the same service as the API and the
console, so the same checks hold, and every change is audited with the CLI as actor.
A serving Trailbook picks changed rules up at its next round (within a second)."""

from __future__ import annotations

import shlex
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
from trailbook.notify.records import CHANNEL_KINDS
from trailbook.query.params import span_seconds
from trailbook.service.access.audit import CLI
from trailbook.service.alerts import RuleSpec
from trailbook.service.alerts.admin import channel_view, rule_fields

alerts_app = typer.Typer(help="Alerts: rules over new events, the channels that carry "
                         "them, and the outbox.", no_args_is_help=True)
channel_app = typer.Typer(help="Where alerts go: email, slack, telegram, webhook.",
                          no_args_is_help=True)
rule_app = typer.Typer(help="Which events raise alerts.", no_args_is_help=True)
alerts_app.add_typer(channel_app, name="channel")
alerts_app.add_typer(rule_app, name="rule")

def seconds(text: str, option: str) -> int:
    """``90`` (seconds), or a span of the query language: ``90s``, ``10m``, ``2h``, ``1d``."""
    found = int(text) if text.strip().isdigit() else span_seconds(text)
    if found is None:
        fail(f"{option} {text!r}: a number of seconds, or with s, m, h, d or w (e.g. 10m)")
    return found


def _config(kind: str, config: str | None, settings: list[str]) -> dict[str, Any]:
    """The channel config from ``--config JSON`` and ``--set KEY=VALUE`` options."""
    out: dict[str, Any] = {}
    if config:
        try:
            loaded = orjson.loads(config)
        except orjson.JSONDecodeError as exc:
            fail(f"--config is not JSON: {exc}")
        if not isinstance(loaded, dict):
            fail("--config must be a JSON object")
        out.update(loaded)
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r}: use KEY=VALUE, e.g. --set url=https://...")
        key = key.strip()
        if kind == "email" and key == "to":
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "port" and value.strip().isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    return out


def _print_json(data: Any) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@channel_app.command("add")
@handle_errors
def channel_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the channel, unique in the tenant."),
    kind: str = typer.Option(..., "--kind", "-k", help=f"One of {', '.join(CHANNEL_KINDS)}."),
    config: str | None = typer.Option(None, "--config", help="The config as a JSON object."),
    settings: list[str] = typer.Option([], "--set", help="One config field, KEY=VALUE "
                                       "(repeatable); email 'to' takes a comma list."),
    tenant: str | None = TenantOption,
) -> None:
    """Add a channel. E.g. --kind webhook --set url=https://x/in --set secret=S;
    --kind slack --set webhook_url=...; --kind telegram --set bot_token=... --set
    chat_id=...; --kind email --set host=smtp.x --set port=587 --set security=starttls
    --set username=... --set password=... --set from=a@x --set to=b@x,c@x."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        made = tb.alerts.add_channel(None, chosen, name, kind, _config(kind, config, settings),
                                     CLI)
    console.print(f"channel {made.name!r} ({made.kind}) added; try it with: trailbook "
                  f"alerts channel test {shlex.quote(made.name)}", highlight=False)


@channel_app.command("list")
@handle_errors
def channel_list(ctx: typer.Context, tenant: str | None = TenantOption,
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the channels (secrets masked)."""
    with open_trailbook(ctx, migrate=False) as tb:
        found = tb.alerts.channels(None, pick_tenant(tb, tenant))
    views = [channel_view(c) for c in found]
    if as_json:
        _print_json({"channels": views})
        return
    table = Table("id", "name", "kind", "config")
    for v in views:
        table.add_row(str(v["id"]), v["name"], v["kind"],
                      orjson.dumps(v["config"]).decode())
    console.print(table if views else "no channels")


@channel_app.command("test")
@handle_errors
def channel_test(ctx: typer.Context, name: str = typer.Argument(..., help="The channel."),
                 tenant: str | None = TenantOption) -> None:
    """Send a test message through a channel now."""
    with open_trailbook(ctx) as tb:
        outcome = tb.alerts.send_test(None, pick_tenant(tb, tenant), name, CLI)
    if not outcome.delivered:
        fail(f"not delivered: {outcome.error}")
    console.print(f"delivered in {outcome.seconds:.2f}s", highlight=False)


@channel_app.command("remove")
@handle_errors
def channel_remove(ctx: typer.Context, name: str = typer.Argument(..., help="The channel."),
                   tenant: str | None = TenantOption) -> None:
    """Remove a channel no rule uses."""
    with open_trailbook(ctx) as tb:
        gone = tb.alerts.delete_channel(None, pick_tenant(tb, tenant), name, CLI)
    console.print(f"channel {gone.name!r} removed", highlight=False)


@rule_app.command("add")
@handle_errors
def rule_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the rule, unique in the tenant."),
    query: str = typer.Option(..., "--query", "-q", help="Which events match (the query "
                              "language), e.g. 'severity:critical'."),
    channel: list[str] = typer.Option(..., "--channel", "-c", help="A channel to alert "
                                      "(repeatable)."),
    threshold: int = typer.Option(1, "--threshold", help="Matches within --window that "
                                  "raise an alert (1: every match)."),
    window: str = typer.Option("0", "--window", help="The threshold's window, e.g. 10m."),
    group_by: str | None = typer.Option(None, "--group-by", help="Count per value of this "
                                        "field, e.g. source.ip."),
    quiet: str | None = typer.Option(None, "--quiet", help="After an alert, count further "
                                     "matches this long and send one summary (default "
                                     "alert_default_quiet_seconds)."),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
    tenant: str | None = TenantOption,
) -> None:
    """Add a rule, e.g. 'Password guessing' -q 'action:user.login result:failure'
    --threshold 5 --window 10m --group-by source.ip -c ops."""
    spec = RuleSpec(name, query, threshold, seconds(window, "--window"), group_by,
                    None if quiet is None else seconds(quiet, "--quiet"), tuple(channel),
                    not disabled)
    with open_trailbook(ctx) as tb:
        made = tb.alerts.add_rule(None, pick_tenant(tb, tenant), spec, CLI)
    console.print(f"rule {made.name!r} added", highlight=False)


@rule_app.command("list")
@handle_errors
def rule_list(ctx: typer.Context, tenant: str | None = TenantOption,
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the rules."""
    with open_trailbook(ctx, migrate=False) as tb:
        chosen = pick_tenant(tb, tenant)
        names = tb.alerts.channel_names(chosen)
        rules = [{"id": r.id, **rule_fields(r, names)} for r in tb.alerts.rules(None, chosen)]
    if as_json:
        _print_json({"rules": rules})
        return
    table = Table("id", "name", "query", "threshold", "group by", "quiet (s)", "channels",
                  "on")
    for r in rules:
        when = (f"{r['threshold']} in {r['window_seconds']}s" if r["threshold"] > 1
                else "each")
        table.add_row(str(r["id"]), r["name"], r["query"], when, r["group_by"] or "-",
                      str(r["quiet_seconds"]), ", ".join(r["channels"]),
                      "yes" if r["enabled"] else "no")
    console.print(table if rules else "no rules")


def _switch(ctx: typer.Context, name: str, tenant: str | None, enabled: bool) -> None:
    with open_trailbook(ctx) as tb:
        tb.alerts.update_rule(None, pick_tenant(tb, tenant), name, {"enabled": enabled}, CLI)
    console.print(f"rule {name!r} {'enabled' if enabled else 'disabled'}", highlight=False)


@rule_app.command("enable")
@handle_errors
def rule_enable(ctx: typer.Context, name: str = typer.Argument(..., help="The rule."),
                tenant: str | None = TenantOption) -> None:
    """Switch a rule on."""
    _switch(ctx, name, tenant, True)


@rule_app.command("disable")
@handle_errors
def rule_disable(ctx: typer.Context, name: str = typer.Argument(..., help="The rule."),
                 tenant: str | None = TenantOption) -> None:
    """Switch a rule off (kept, with its channels)."""
    _switch(ctx, name, tenant, False)


@rule_app.command("remove")
@handle_errors
def rule_remove(ctx: typer.Context, name: str = typer.Argument(..., help="The rule."),
                tenant: str | None = TenantOption) -> None:
    """Remove a rule."""
    with open_trailbook(ctx) as tb:
        gone = tb.alerts.delete_rule(None, pick_tenant(tb, tenant), name, CLI)
    console.print(f"rule {gone.name!r} removed", highlight=False)


@alerts_app.command("deliveries")
@handle_errors
def deliveries(
    ctx: typer.Context,
    state: str | None = typer.Option(None, "--state", help="pending, delivered or dead."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    tenant: str | None = TenantOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The outbox: alert deliveries, newest first (--state dead: the dead letters)."""
    from trailbook.api.alerts import delivery_json  # the API's shape

    with open_trailbook(ctx, migrate=False) as tb:
        chosen = pick_tenant(tb, tenant)
        names = tb.alerts.channel_names(chosen)
        found = [delivery_json(d, names)
                 for d in tb.alerts.deliveries(None, chosen, state, limit)]
    if as_json:
        _print_json({"deliveries": found})
        return
    table = Table("id", "created (UTC)", "kind", "rule", "channel", "state", "attempts",
                  "last error")
    for d in found:
        table.add_row(d["id"], d["created_at"][:19].replace("T", " "), d["kind"],
                      d["rule"] or "-", d["channel"] or f"#{d['channel_id']}", d["state"],
                      str(d["attempts"]), d["last_error"] or "")
    console.print(table if found else "no deliveries")


@alerts_app.command("retry")
@handle_errors
def retry(ctx: typer.Context,
          delivery_id: str = typer.Argument(..., help="The delivery (see 'deliveries')."),
          tenant: str | None = TenantOption) -> None:
    """Send a dead delivery again (a serving Trailbook sends it at its next round)."""
    with open_trailbook(ctx) as tb:
        again = tb.alerts.retry(None, pick_tenant(tb, tenant), delivery_id, CLI)
    console.print(f"delivery {again.id} is {again.state} again", highlight=False)
