"""``trailbook copy``: move a whole trail between databases, its chain intact."""

from __future__ import annotations

import typer
from rich.table import Table

from trailbook.cli.common import console, database_url, fail, handle_errors, state
from trailbook.cli.events import progress_bar
from trailbook.integrity.signing import Signer, load_or_create_signer, save_signer
from trailbook.service.copying import copy_trail, events_to_copy
from trailbook.settings import Settings
from trailbook.store import open_store


@handle_errors
def copy(
    ctx: typer.Context,
    source: str = typer.Option(..., "--from", help="Database to copy from (URL or SQLite path)."),
    target: str = typer.Option(..., "--to", help="Database to copy into (URL or SQLite path)."),
) -> None:
    """Copy every tenant, event, checkpoint, API key, staff user and annotation from one
    database into another (e.g. SQLite into PostgreSQL), then verify the copy against
    the signed checkpoints."""
    from_settings = state(ctx).settings(database_url=database_url(source))
    to_settings = state(ctx).settings(database_url=database_url(target))
    if from_settings.resolved_database_url == to_settings.resolved_database_url:
        fail("--from and --to name the same database")
    src = open_store(from_settings, create=False)
    try:
        src.require_schema()
        signer = _trail_key(from_settings, to_settings, signed=src.has_checkpoints())
        dst = open_store(to_settings)
        try:
            total = events_to_copy(src)
            with progress_bar("copying events") as bar:
                task = bar.add_task("copy", total=total)
                copied = copy_trail(src, dst, signer, lambda n: bar.advance(task, n))
            key_path = to_settings.resolved_signing_key_path
            if not key_path.exists():
                save_signer(signer, key_path)
        finally:
            dst.close()
    finally:
        src.close()

    table = Table("tenant", "events", "checkpoints", "API keys", "users", "annotations",
                  "saved searches", "verified")
    for tenant in copied:
        report = tenant.report
        verdict = "[green]whole[/]" if report.ok else f"[red]{report.problems[0].kind}[/]"
        table.add_row(tenant.name, f"{tenant.events:,}", str(tenant.checkpoints),
                      str(tenant.api_keys), str(tenant.users), f"{tenant.annotations:,}",
                      str(tenant.saved_searches), verdict)
    console.print(table)
    console.print(f"copied {sum(t.events for t in copied):,} events into {dst.url}; "
                  f"signing key: {to_settings.resolved_signing_key_path}")
    if not all(t.report.ok for t in copied):
        fail("the copy does not verify; see 'trailbook verify' on the target")


def _trail_key(source: Settings, target: Settings, *, signed: bool) -> Signer:
    """The trail's signing key: the source's; else the target's; else a new one (only
    for a trail that has signed nothing). A target holding another key is refused."""
    source_path = source.resolved_signing_key_path
    target_path = target.resolved_signing_key_path
    if source_path.exists():
        signer = load_or_create_signer(source_path, create=False)
        if target_path.exists() and target_path != source_path:
            other = load_or_create_signer(target_path, create=False)
            if other.key_id != signer.key_id:
                fail(f"the target's signing key at {target_path} is not the trail's "
                     f"(at {source_path}); move it away or point --data-dir elsewhere")
        return signer
    if signed:
        fail(f"no signing key at {source_path}, but the source trail has signed "
             "checkpoints: restore the key (or set TRAILBOOK_SIGNING_KEY_PATH) first")
    return load_or_create_signer(target_path, create=True)
