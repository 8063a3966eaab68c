"""Commands on exports: ``export`` (a search to a file and its signed manifest) and the
offline check behind ``verify --export``."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from trailbook.cli.common import (
    TenantOption,
    console,
    err_console,
    fail,
    handle_errors,
    open_trailbook,
    pick_tenant,
)
from trailbook.integrity.export_check import (
    ExportCheckError,
    check_export,
    keys_by_id,
    public_key_from_text,
    read_manifest,
)
from trailbook.query.language import combine
from trailbook.service.export import FORMATS
from trailbook.service.export.manifest import SUFFIX
from trailbook.service.export.xlsx import MAX_EVENTS

COUNT_CAP = 100_000_000


@handle_errors
def export(
    ctx: typer.Context,
    query: str | None = typer.Argument(
        None, help='A query, as for search (e.g. \'action:miner.* -result:success\'); '
        "none: every event."),
    tenant: str | None = TenantOption,
    format_name: str = typer.Option("csv", "--format", "-f",
                                    help=f"One of {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False,
        help="File to write (default: trailbook-TENANT-TIME.FORMAT here). The signed "
        f"manifest goes beside it, as FILE{SUFFIX}."),
    tz: str | None = typer.Option(None, help="IANA time zone for the times in csv/xlsx "
                                  "(default UTC)."),
    since: str | None = typer.Option(None, help="RFC 3339, a date, or 24h/7d back."),
    until: str | None = typer.Option(None, help="Exclusive upper bound, same forms."),
    last: str | None = typer.Option(None, help="A span back from now: 30m, 24h, 7d."),
) -> None:
    """Export every event a search matches to a file (csv, xlsx, json or ndjson), with a
    signed manifest beside it. Audited in the tenant's access log."""
    given = {k: [v] for k, v in (("since", since), ("until", until), ("last", last)) if v}
    flt = combine(query, given)
    with open_trailbook(ctx) as tb:
        chosen = pick_tenant(tb, tenant)
        fmt = tb.exports.format_of(format_name)
        total = tb.exports.count(chosen, flt, COUNT_CAP)
        if fmt.name == "xlsx" and total is not None and total > MAX_EVENTS:
            fail(f"an .xlsx sheet holds at most {MAX_EVENTS:,} events; this search matches "
                 f"{total:,}: narrow it, or export csv or ndjson")
        if output is None:
            output = Path.cwd() / tb.exports.filename(chosen, fmt)
        partial = output.with_name(output.name + ".partial")
        started = tb.exports.start_local(chosen, flt, fmt.name, query=query, tz=tz,
                                         output=output)
        progress = started.progress
        done = False
        try:
            with Progress(
                TextColumn(f"exporting {fmt.name}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=err_console, transient=True,
            ) as bar:
                task = bar.add_task("export", total=total)
                with partial.open("wb") as out:
                    for chunk in started.chunks:
                        out.write(chunk)
                        bar.update(task, completed=progress.rows)
            os.replace(partial, output)
            done = True
        finally:
            if not done:
                partial.unlink(missing_ok=True)
    if progress.manifest_error is not None or progress.manifest is None:
        fail(f"exported {progress.rows:,} rows to {output}, but no manifest: "
             f"{progress.manifest_error}")
    manifest = progress.manifest
    console.print(f"exported {progress.rows:,} rows to {output} "
                  f"({progress.bytes:,} bytes, SHA-256 {progress.sha256}); "
                  f"signed manifest {manifest}", highlight=False, soft_wrap=True)


def verify_export(export_file: Path, manifest_file: Path | None, public_keys: list[str],
                  as_json: bool) -> None:
    """Check an export offline against its signed manifest; exit 1 if anything fails."""
    manifest_file = manifest_file or export_file.with_name(export_file.name + SUFFIX)
    if not public_keys:
        fail("--export needs --public-key (a PEM file, or the base64 key from "
             "GET /api/v1/keys)")
    for path in (export_file, manifest_file):
        if not path.is_file():
            fail(f"no file at {path}")
    try:
        keys = keys_by_id([public_key_from_text(_key_text(k)) for k in public_keys])
        doc = read_manifest(manifest_file.read_bytes())
        report = check_export(export_file, doc, keys)
    except ExportCheckError as exc:
        fail(str(exc))
    if as_json:
        print(orjson.dumps(report.as_dict()).decode())
    elif report.ok:
        tie = (f"; the chain ends at the signed checkpoint at seq {report.covering_checkpoint:,}"
               if report.covering_checkpoint is not None else "")
        relinked = (f"; {report.linked:,} events re-linked to their hashes, "
                    f"{report.tied:,} of them to a checkpoint by recomputation alone"
                    if report.format in ("json", "ndjson") and not doc["manifest"].get("masked")
                    else "")
        console.print(
            f"[bold green]OK[/] {export_file.name}: {report.rows_found:,} rows of tenant "
            f"{report.tenant} as exported ({report.format}); manifest signature and file "
            f"SHA-256 valid; {report.checkpoints_checked} signed checkpoint(s) valid"
            f"{relinked}{tie}", highlight=False, soft_wrap=True)
        for note in report.notes:
            console.print(f"note: {note}", style="dim", highlight=False, soft_wrap=True)
    if not report.ok:
        if not as_json:
            err_console.print(f"[bold red]CHANGED[/] {export_file.name}: {report.problems[0]}",
                              highlight=False)
            for problem in report.problems[1:10]:
                err_console.print(f"  also {problem}", highlight=False)
        raise typer.Exit(1)


def _key_text(value: str) -> str:
    """A --public-key value: a file holding the key, or the base64 key itself."""
    path = Path(value).expanduser()
    if len(value) < 4096 and path.is_file():
        return path.read_text("utf-8", errors="replace")
    return value
