"""What every command shares: the settings built once from flags and environment,
opening Trailbook, choosing the tenant, and turning errors into one line + exit 1."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from trailbook.errors import TrailbookError
from trailbook.service.app import Trailbook
from trailbook.settings import Settings, load_settings
from trailbook.store.records import Tenant

console = Console()
# Errors stay on one line each, whatever the terminal width, so scripts can read them.
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    data_dir: Path | None = None
    database: str | None = None

    def settings(self, **overrides: object) -> Settings:
        database = overrides.pop("database_url", None) or self.database
        try:
            return load_settings(
                data_dir=self.data_dir, database_url=database_url(database), **overrides
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            fail(f"invalid setting {field}: {first.get('msg')}")


def database_url(value: object) -> str | None:
    """A URL as given, or a plain file path taken as a SQLite database."""
    if value is None or value == "":
        return None
    text = str(value)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def comma_list(value: str) -> list[str]:
    """``a, b,,c`` as ``["a", "b", "c"]``."""
    return [part.strip() for part in value.split(",") if part.strip()]


def print_once(intro: str, secret: str) -> None:
    """A secret the user sees only now (a key, a one-time password), under ``intro``."""
    console.print(intro)
    console.print(secret, style="bold green", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a Trailbook error as one line and exit 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TrailbookError as exc:
            fail(exc.one_line())
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)

    return wrapper


@contextmanager
def open_trailbook(ctx: typer.Context, *, migrate: bool = True) -> Iterator[Trailbook]:
    tb = Trailbook.open(state(ctx).settings(), migrate=migrate)
    try:
        yield tb
    finally:
        tb.close()


def pick_tenant(tb: Trailbook, name: str | None) -> Tenant:
    """The named tenant, or the only one there is."""
    if name:
        return tb.tenants.get(name)
    tenants = tb.tenants.all()
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        fail("no tenant yet: run 'trailbook init' (or 'trailbook demo') first")
    fail("several tenants exist; choose one with --tenant: "
         + ", ".join(t.name for t in tenants))


TenantOption = typer.Option(None, "--tenant", "-t", help="Tenant name (default: the only one).")
