"""Commands on events: demo, ingest, search, verify."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import msgspec
import orjson
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from trailbook.cli.accounts import print_first_owner
from trailbook.cli.admin import ensure_demo_key
from trailbook.cli.common import (
    TenantOption,
    console,
    err_console,
    fail,
    handle_errors,
    open_trailbook,
    pick_tenant,
    print_once,
)
from trailbook.cli.exports import verify_export
from trailbook.cli.saved import find_saved
from trailbook.model.event import EventIn
from trailbook.query.language import combine
from trailbook.service.app import Trailbook
from trailbook.service.events import BULK_BATCH
from trailbook.service.saved_searches import filter_of
from trailbook.store.records import Tenant

MAX_LISTED_ERRORS = 50


@handle_errors
def demo(
    ctx: typer.Context,
    count: int = typer.Option(50_000, min=1, help="How many events to load."),
    tenant: str = typer.Option("demo", "--tenant", "-t", help="Tenant to load them into."),
    seed: int = typer.Option(7, help="Seed of the generator (same seed, same events)."),
    append: bool = typer.Option(False, help="Add events even if the tenant has some."),
    key_file: str | None = typer.Option(
        None, help="Keep the demo API key in this file and reuse it on later runs."
    ),
) -> None:
    """Load realistic demo events (five kinds of back office) and print an API key."""
    with open_trailbook(ctx) as tb:
        chosen, _ = tb.tenants.get_or_create(tenant)
        head = tb.store.chain_head(chosen.id)
        if head is not None and head.seq > 0 and not append:
            console.print(f"tenant {chosen.name} already holds {head.seq:,} events; "
                          "not loading more (use --append to add)")
        else:
            _load(tb, chosen, count, seed)
        secret = ensure_demo_key(tb, chosen.name, key_file)
        print_once(f"API key for tenant [bold]{chosen.name}[/] (scopes: ingest, read):",
                   secret)
        print_first_owner(tb, chosen)


def _load(tb: Trailbook, tenant: Tenant, count: int, seed: int) -> None:
    from trailbook.service.demo import demo_events

    with Progress(
        TextColumn("loading demo events"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress:
        task = progress.add_task("demo", total=count)
        source = iter(demo_events(count, seed=seed))
        batches = (
            msgspec.convert(chunk, list[EventIn])
            for chunk in iter(lambda: list(itertools.islice(source, BULK_BATCH)), [])
        )
        tb.events.ingest_stream(
            tenant, batches, on_stored=lambda _, done: progress.advance(task, len(done))
        )
    tb.checkpoints.checkpoint_pending()
    console.print(f"loaded {count:,} events into tenant {tenant.name}")


@handle_errors
def ingest(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="NDJSON: one event per line."),
    tenant: str | None = TenantOption,
    skip_invalid: bool = typer.Option(
        False, help="Store the valid lines and report the rest (default: store nothing "
        "if any line is invalid)."),
) -> None:
    """Load events from an NDJSON file, in batches, all-or-nothing by default.

    The whole file is checked first (each line's validity, and idempotency keys reused
    with other content in the file or in the store); only then is anything stored."""
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        size = file.stat().st_size
        errors = _check_file(tb, chosen, file, size)
        if errors and not skip_invalid:
            _report(errors)
            fail(f"{len(errors):,} invalid line(s) in {file}; nothing stored "
                 "(fix them, or pass --skip-invalid to store the valid lines)")
        skipped = {lineno for lineno, _ in errors}
        ends: deque[int] = deque()  # file offset at the end of each batch sent

        def batches() -> Iterator[list[bytes]]:
            for chunk in _chunks(_lines(file)):
                lines = [line for lineno, line, _ in chunk if lineno not in skipped]
                if lines:
                    ends.append(chunk[-1][2])
                    yield lines

        with progress_bar(f"ingesting {file.name}") as progress:
            task = progress.add_task("ingest", total=size)
            result = tb.events.ingest_lines(
                chosen, batches(),
                on_stored=lambda *_: progress.update(task, completed=ends.popleft()),
            )
            progress.update(task, completed=size)
        if errors:
            _report(errors)
        console.print(
            f"stored {result.stored:,} events in tenant {chosen.name}"
            + (f", {result.duplicates:,} already stored (idempotency key)"
               if result.duplicates else "")
            + (f", skipped {len(errors):,} invalid line(s)" if errors else "")
        )


def progress_bar(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                    console=err_console)


def _lines(file: Path) -> Iterator[tuple[int, bytes, int]]:
    offset = 0
    with file.open("rb") as handle:
        for lineno, line in enumerate(handle, 1):
            offset += len(line)
            if line.strip():
                yield lineno, line, offset


def _chunks(lines: Iterator[tuple[int, bytes, int]]) -> Iterator[list[tuple[int, bytes, int]]]:
    """(line number, line, end offset) in batches of BULK_BATCH lines."""
    return iter(lambda: list(itertools.islice(lines, BULK_BATCH)), [])


def _check_file(tb: Trailbook, tenant: Tenant, file: Path, size: int) -> list[tuple[int, str]]:
    """Every line that ingest would refuse, with its reason; nothing is stored."""
    errors: list[tuple[int, str]] = []
    checker = tb.events.checker(tenant)
    sent: deque[tuple[list[int], int]] = deque()  # line numbers and end offset per batch

    def batches() -> Iterator[list[bytes]]:
        for chunk in _chunks(_lines(file)):
            sent.append(([lineno for lineno, _, _ in chunk], chunk[-1][2]))
            yield [line for _, line, _ in chunk]

    with progress_bar(f"checking {file.name}") as progress:
        task = progress.add_task("check", total=size)
        for batch in tb.events.prepare_lines(tenant, batches()):
            numbers, end = sent.popleft()
            for index, exc in checker.check(batch):
                errors.append((numbers[index], exc.one_line()))
            progress.update(task, completed=end)
        progress.update(task, completed=size)
    return sorted(errors)


def _report(errors: list[tuple[int, str]]) -> None:
    for lineno, message in errors[:MAX_LISTED_ERRORS]:
        err_console.print(f"line {lineno}: {message}", highlight=False)
    if len(errors) > MAX_LISTED_ERRORS:
        err_console.print(f"… and {len(errors) - MAX_LISTED_ERRORS:,} more invalid lines")


@handle_errors
def search(
    ctx: typer.Context,
    query: str | None = typer.Argument(
        None, help='A query: key:value terms, -negations, words and "phrases" '
        '(e.g. \'action:miner.* -result:success "rack B4"\'); see docs/query-language.md.'),
    tenant: str | None = TenantOption,
    since: str | None = typer.Option(None, help="RFC 3339, a date, or 24h/7d back."),
    until: str | None = typer.Option(None, help="Exclusive upper bound, same forms."),
    last: str | None = typer.Option(None, help="A span back from now: 30m, 24h, 7d."),
    category: list[str] = typer.Option([], help="Category (repeatable)."),
    action: list[str] = typer.Option([], help="Action, exact or prefix.* (repeatable)."),
    action_type: list[str] = typer.Option([], help="create, read, update, delete, …"),
    severity: list[str] = typer.Option([], help="info, notice, warning, critical."),
    result: list[str] = typer.Option([], help="success or failure."),
    actor: str | None = typer.Option(None, help="Words in actor id, name or email."),
    actor_id: list[str] = typer.Option([], help="Exact actor id."),
    actor_email: list[str] = typer.Option([], help="Exact actor email."),
    actor_type: list[str] = typer.Option([], help="user, system, api_key, automation."),
    target: str | None = typer.Option(None, help="Words in target ids or names."),
    target_id: list[str] = typer.Option([], help="Exact target id."),
    target_name: list[str] = typer.Option([], help="Target name (its words, in order)."),
    target_type: list[str] = typer.Option([], help="Target type."),
    scope: list[str] = typer.Option([], help="Scope."),
    ip: list[str] = typer.Option([], help="IP address or CIDR network."),
    request_id: list[str] = typer.Option([], help="Request id."),
    session_id: list[str] = typer.Option([], help="Session id."),
    tag: list[str] = typer.Option([], help="Annotation tag (repeatable)."),
    limit: int = typer.Option(50, min=1, max=500, help="Events per page."),
    cursor: str | None = typer.Option(None, help="next_cursor of a previous page."),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON."),
    saved: str | None = typer.Option(
        None, "--saved", help="Run a saved search of --user, by its name, instead of a "
        "query and filters."),
    user: str | None = typer.Option(None, "--user", "-u",
                                    help="Email of the staff user whose search --saved runs."),
) -> None:
    """Search events, newest first (the API's filters), or run a saved search."""
    params: dict[str, object] = {
        "since": since, "until": until, "last": last, "category": category,
        "action": action, "action_type": action_type, "severity": severity, "result": result,
        "actor": actor, "actor_id": actor_id, "actor_email": actor_email,
        "actor_type": actor_type, "target": target, "target_id": target_id,
        "target_name": target_name, "target_type": target_type, "scope": scope, "ip": ip,
        "request_id": request_id, "session_id": session_id, "tag": tag,
    }
    given = {k: v for k, v in params.items() if v not in (None, [], "")}
    if saved is not None and (query or given):
        fail("--saved runs the saved search as it is: leave out the query and the filter "
             "options (or save a new search)")
    if (saved is None) != (user is None):
        fail("--saved and --user go together: the name of a saved search and whose it is")
    flt = None if saved is not None else combine(query, given)  # type: ignore[arg-type]
    with open_trailbook(ctx, migrate=False) as tb:
        chosen = pick_tenant(tb, tenant)
        if flt is None:
            assert saved is not None and user is not None
            # Run as the operator, like any search here: over every category.
            flt = filter_of(find_saved(tb, chosen, user, saved))
        page = tb.events.search(chosen, flt, cursor, limit)
    docs = [orjson.loads(e.doc) | {"hash": bytes(e.hash).hex()} for e in page.events]
    if as_json:
        print(orjson.dumps({"events": docs, "next_cursor": page.next_cursor}).decode())
        return
    table = Table(show_lines=False)
    for title, kwargs in (
        ("occurred (UTC)", {"no_wrap": True}),
        ("seq", {"justify": "right", "no_wrap": True}),
        ("actor", {"no_wrap": True, "max_width": 22}),
        ("action", {"no_wrap": True, "max_width": 22}),
        ("target", {"no_wrap": True, "max_width": 20}),
        ("result", {"no_wrap": True}),
        ("ip", {"no_wrap": True, "max_width": 16}),
        ("description", {"min_width": 16}),
    ):
        table.add_column(title, overflow="ellipsis", **kwargs)
    for d in docs:
        actor_doc = d["actor"]
        who = actor_doc.get("email") or actor_doc.get("name") or actor_doc["id"]
        targets = d["targets"]
        first = targets[0] if targets else None
        what = f"{first['type']}:{first.get('name') or first['id']}" if first else ""
        result_text = d["result"] if d["result"] == "success" else f"[red]{d['result']}[/]"
        table.add_row(d["occurred_at"][:19].replace("T", " "), str(d["seq"]), who, d["action"],
                      what, result_text, (d.get("source") or {}).get("ip") or "",
                      d.get("description") or "")
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", style="dim")
    elif not docs:
        console.print("no events match", style="dim")


@handle_errors
def verify(
    ctx: typer.Context,
    tenant: str | None = TenantOption,
    all_tenants: bool = typer.Option(False, "--all", help="Verify every tenant."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    export_file: Path | None = typer.Option(
        None, "--export", dir_okay=False,
        help="Check this export file offline instead (no database needed)."),
    manifest: Path | None = typer.Option(
        None, "--manifest", dir_okay=False,
        help="The export's signed manifest (default: FILE.manifest.json)."),
    public_key: list[str] = typer.Option(
        [], "--public-key",
        help="The service's public key: a PEM file, or the base64 key from "
        "GET /api/v1/keys (repeatable)."),
) -> None:
    """Recompute the hash chain and check the signed checkpoints. Exit 1 if damaged.

    With --export, check an export file against its signed manifest instead, offline."""
    if export_file is not None:
        verify_export(export_file, manifest, public_key, as_json)
        return
    with open_trailbook(ctx, migrate=False) as tb:
        chosen = tb.tenants.all() if all_tenants else [pick_tenant(tb, tenant)]
        reports = [tb.integrity.verify(t) for t in chosen]
    if as_json:
        print(orjson.dumps([r.as_dict() for r in reports]).decode())
    else:
        for r in reports:
            first = r.first_problem
            if first is None:
                console.print(
                    f"[bold green]OK[/] tenant {r.tenant}: {r.events_checked:,} events, chain "
                    f"whole; {r.checkpoints_checked} signed checkpoint(s) valid"
                    + (f", latest at seq {r.last_checkpoint_seq:,}" if r.last_checkpoint_seq
                       else "")
                    + (f"; {r.events_purged:,} event(s) removed by retention, under "
                       f"{r.purges_checked} signed purge record(s)" if r.purges_checked
                       else ""))
            else:
                err_console.print(
                    f"[bold red]DAMAGED[/] tenant {r.tenant}: first bad seq {first.seq}: "
                    f"{first.kind}: {first.detail}", highlight=False)
                for p in sorted(r.problems, key=lambda p: p.seq)[1:10]:
                    err_console.print(f"  also seq {p.seq}: {p.kind}: {p.detail}",
                                      highlight=False)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)
