"""`trailbook signing-key`: rotate the key that signs checkpoints, and list every key
a checkpoint of this trail may be signed with."""

from __future__ import annotations

import typer
from rich.table import Table

from trailbook.cli.common import console, fail, handle_errors, open_trailbook, state
from trailbook.integrity.signing import rotate_signer
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import CLI

signing_app = typer.Typer(help="The key that signs checkpoints: rotate it, list them.",
                          no_args_is_help=True)


@signing_app.command("rotate")
@handle_errors
def rotate(ctx: typer.Context) -> None:
    """Make a new signing key. Checkpoints signed by the old one keep verifying (its
    public key stays in the keyring beside the key); the old private key is deleted.
    Restart every `trailbook serve` that uses this key afterwards."""
    settings = state(ctx).settings()
    path = settings.resolved_signing_key_path
    if not path.exists():
        fail(f"no signing key at {path} to rotate ('trailbook init' makes the first)")
    try:
        old, new = rotate_signer(path, format_us(now_us()))
    except ValueError as exc:  # not an Ed25519 key, or a damaged keyring
        fail(f"cannot rotate the signing key at {path}: {exc}")
    with open_trailbook(ctx) as tb:
        for tenant in tb.tenants.all():
            tb.audit.admin(tenant, None, CLI, "signing_key.rotate", "update",
                           {"type": "signing_key", "id": new.key_id},
                           [{"field": "key_id", "old": old.key_id, "new": new.key_id}])
    console.print(f"signing key {old.key_id} retired; new key {new.key_id} at {path}")
    console.print("restart every 'trailbook serve' that uses this key")


@signing_app.command("list")
@handle_errors
def list_keys(ctx: typer.Context) -> None:
    """Every key a checkpoint of this trail may be signed with, newest first."""
    with open_trailbook(ctx, migrate=False) as tb:
        table = Table("key id", "valid from", "valid until", "current")
        for key in tb.signer.all_descriptions():
            table.add_row(str(key["key_id"]), str(key["valid_from"] or "the beginning"),
                          str(key["valid_until"] or "—"), "yes" if key["current"] else "")
        console.print(table)
