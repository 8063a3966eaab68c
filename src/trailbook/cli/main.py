"""The ``trailbook`` command."""

from __future__ import annotations

from pathlib import Path

import typer

from trailbook import __version__
from trailbook.cli import (
    accounts,
    admin,
    alerts,
    copy,
    events,
    exports,
    retention,
    saved,
    signing,
)
from trailbook.cli.common import CliState, console, database_url, handle_errors, state
from trailbook.cli.server_logs import logs_app
from trailbook.runtime import tune_for_throughput

app = typer.Typer(
    name="trailbook",
    help="Trailbook: a tamper-evident audit trail service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="TRAILBOOK_DATA_DIR",
        help="Folder of the default SQLite database and signing key (default ./data)."),
    database: str | None = typer.Option(
        None, "--database", envvar="TRAILBOOK_DATABASE_URL",
        help="Database URL (sqlite:///path.db) or a SQLite file path."),
) -> None:
    ctx.obj = CliState(data_dir=data_dir, database=database)


@app.command()
@handle_errors
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8600)."),
    database: str | None = typer.Option(None, "--database",
                                        help="Database URL or SQLite file path."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    workers: int = typer.Option(
        1, min=1, max=64,
        help="Worker processes. They validate in parallel; writes to one database are "
        "serialised, so each tenant's chain stays whole."),
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from trailbook.api.app import create_app
    from trailbook.service.app import Trailbook
    from trailbook.settings import settings_as_environment

    settings = state(ctx).settings(host=host, port=port, database_url=database_url(database))
    from trailbook.logs.setup import install

    # Trailbook's own logs, per area, in the logs folder (and on stderr from --log-level
    # up); uvicorn's logging goes there too (log_config=None: it configures none).
    install(settings, console_level=log_level)
    tb = Trailbook.open(settings)  # creates and migrates the database, makes the key
    tenants = tb.tenants.all()
    if tenants:
        accounts.print_first_owner(tb, tenants[0])
    console.print(f"Trailbook {__version__} on http://{settings.host}:{settings.port} "
                  f"(database {tb.store.url}, {workers} worker(s)); API docs at /docs")
    if workers == 1:
        uvicorn.run(create_app(tb, own_trailbook=True), host=settings.host,
                    port=settings.port, log_level=log_level, access_log=False,
                    log_config=None)
        return
    tb.close()
    os.environ.update(settings_as_environment(settings))
    uvicorn.run("trailbook.api.factory:app_from_environment", factory=True, workers=workers,
                host=settings.host, port=settings.port, log_level=log_level, access_log=False,
                log_config=None)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


app.command()(admin.init)
app.command()(admin.migrate)
app.command()(copy.copy)
app.command()(events.demo)
app.command()(events.ingest)
app.command()(events.search)
app.command()(events.verify)
app.command()(exports.export)
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.key_app, name="key")
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.role_app, name="role")
app.add_typer(saved.saved_app, name="saved")
app.add_typer(signing.signing_app, name="signing-key")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(retention.retention_app, name="retention")
app.add_typer(logs_app, name="logs")


def main() -> None:
    tune_for_throughput()
    app()
