"""`trailbook logs`: Trailbook's own server logs (list, tail, level, rotation, delete).
Reading works without the database (its logs are what one reads when it is down);
changes and deletions go through the same service as the API and the console, and are
audited in every tenant's ``admin`` category with the CLI as actor. A running server
picks a change up within seconds."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from trailbook.cli.common import console, fail, handle_errors, open_trailbook, state
from trailbook.logs.areas import AREAS, LEVELS
from trailbook.model.timefmt import format_us
from trailbook.service.access.audit import CLI
from trailbook.service.server_logs import ServerLogService

logs_app = typer.Typer(help="Trailbook's own server logs: list, tail, levels, rotation.",
                       no_args_is_help=True)


def _reader(ctx: typer.Context) -> ServerLogService:
    return ServerLogService(state(ctx).settings())


@logs_app.command("list")
@handle_errors
def list_files(ctx: typer.Context) -> None:
    """The log files, each area's level and the rotation settings."""
    shown = _reader(ctx).overview(None)
    console.print(f"folder {shown.folder}", highlight=False)
    table = Table("file", "area", "kind", "bytes", "modified")
    for found in shown.files:
        table.add_row(found.name, found.area, "live" if found.live else "rotated",
                      f"{found.size:,}", format_us(int(found.modified * 1_000_000)))
    console.print(table)
    console.print("levels: " + ", ".join(f"{a}={lv}" for a, lv in shown.config.levels.items()),
                  highlight=False)
    console.print(f"rotation: past {shown.config.max_bytes:,} bytes; "
                  f"{shown.config.keep} rotated copies kept per area", highlight=False)


@logs_app.command("tail")
@handle_errors
def tail(ctx: typer.Context, file: str = typer.Argument(..., help="e.g. access.log"),
         lines: int = typer.Option(200, "--lines", "-n", help="How many records."),
         level: str = typer.Option("TRACE", "--level", "-l",
                                   help="Only records at or above: " + ", ".join(LEVELS)),
         ) -> None:
    """The last records of a log file (live or rotated), at or above a level."""
    for record in _reader(ctx).tail(None, file, lines, level):
        print(record.text)


@logs_app.command("level")
@handle_errors
def level(ctx: typer.Context,
          area: str = typer.Argument(..., help="One of: " + ", ".join(AREAS)),
          name: str = typer.Argument(..., metavar="LEVEL", help=", ".join(LEVELS))) -> None:
    """Set an area's level (kept across restarts)."""
    with open_trailbook(ctx) as tb:
        config = tb.server_logs.change(None, CLI, levels={area: name})
    console.print(f"{escape(area)} logs at {config.levels.get(area, name)}", highlight=False)


@logs_app.command("rotation")
@handle_errors
def rotation(ctx: typer.Context,
             max_bytes: int | None = typer.Option(None, "--max-bytes",
                                                  help="Rotate a file past this size."),
             keep: int | None = typer.Option(None, "--keep",
                                             help="Rotated copies kept per area."),
             ) -> None:
    """Change the rotation size and the copies kept (kept across restarts)."""
    if max_bytes is None and keep is None:
        fail("give --max-bytes, --keep or both")
    with open_trailbook(ctx) as tb:
        config = tb.server_logs.change(None, CLI, max_bytes=max_bytes, keep=keep)
    console.print(f"rotation: past {config.max_bytes:,} bytes; {config.keep} rotated "
                  "copies kept per area", highlight=False)


@logs_app.command("delete")
@handle_errors
def delete(ctx: typer.Context, file: str = typer.Argument(..., help="A rotated copy")) -> None:
    """Delete a rotated log file (live files cannot be deleted)."""
    with open_trailbook(ctx) as tb:
        tb.server_logs.delete(None, file, CLI)
    console.print(f"deleted {escape(file)}", highlight=False)
