"""`trailbook signing-key rotate` and `list`: after a rotation new checkpoints are
signed by the new key, those signed by the old one keep verifying, the old private key
is gone, the public keys with their validity are served, and a rotation cut short is
finished the next time the key is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from fastapi.testclient import TestClient

from trailbook.api.app import create_app
from trailbook.errors import StorageError
from trailbook.integrity.keyring import (
    keyring_path,
    pending_path,
    read_keyring,
    write_private,
)
from trailbook.integrity.signing import load_or_create_signer, rotate_signer
from trailbook.model.event import EventIn
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir), "COLUMNS": "250"}
    env.pop("TRAILBOOK_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _ingest(tb: Trailbook, count: int) -> None:
    tenant = tb.tenants.get("acme")
    tb.events.ingest(tenant, msgspec.convert(
        [{"action": "miner.reboot", "actor": {"id": f"u-{i}"}} for i in range(count)],
        list[EventIn]))
    tb.checkpoints.checkpoint_pending()


def test_rotation_keeps_old_checkpoints_verifiable(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with Trailbook.open(settings) as tb:
        tb.tenants.create("acme")
        _ingest(tb, 5)
        first_key = tb.signer.key_id
    key_path = settings.resolved_signing_key_path
    old_pem = key_path.read_bytes()

    rotated = run(tmp_path, "signing-key", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert first_key in rotated.stdout and "restart" in rotated.stdout
    assert key_path.read_bytes() != old_pem  # the old private key is gone
    assert not pending_path(key_path).exists()
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"

    with Trailbook.open(settings) as tb:
        second_key = tb.signer.key_id
        assert second_key != first_key
        assert [k.key_id for k in tb.signer.retired] == [first_key]
        _ingest(tb, 5)
        tenant = tb.tenants.get("acme")
        signers = {c.key_id for c in tb.store.list_checkpoints(tenant.id)}
        assert signers == {first_key, second_key}
        report = tb.integrity.verify(tenant)
        assert report.ok and report.checkpoints_checked >= 2
        # The rotation is in the tenant's admin log.
        [audited] = tb.events.search(tenant, EventFilter(
            categories=("admin",), actions=("signing_key.rotate",)), None, 5).events
        assert first_key.encode() in bytes(audited.doc)
        keys = TestClient(create_app(tb)).get("/api/v1/keys").json()["keys"]
    assert [(k["key_id"], k["current"]) for k in keys] == [(second_key, True),
                                                           (first_key, False)]
    assert keys[0]["valid_from"] == keys[1]["valid_until"] is not None
    assert keys[1]["valid_from"] is None and keys[0]["valid_until"] is None

    listed = run(tmp_path, "signing-key", "list")
    assert listed.returncode == 0 and first_key in listed.stdout and second_key in listed.stdout
    verified = run(tmp_path, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Rotating again keeps both older keys.
    assert run(tmp_path, "signing-key", "rotate").returncode == 0
    assert len(read_keyring(key_path).retired) == 2
    assert run(tmp_path, "verify").returncode == 0


def test_a_rotation_cut_short_is_finished_on_next_load(tmp_path: Path) -> None:
    key = tmp_path / "signing-key.pem"
    first = load_or_create_signer(key)
    old, new = rotate_signer(key, "2026-11-23T10:00:00.000000Z")
    assert old.key_id == first.key_id
    # Put things back as if the process had died after writing the keyring but before
    # moving the new key into place.
    pending_path(key).write_bytes(key.read_bytes())
    key.unlink()
    write_private(key, first.private)
    loaded = load_or_create_signer(key, create=False)
    assert loaded.key_id == new.key_id and not pending_path(key).exists()


def test_a_key_that_is_not_the_keyrings_current_is_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with Trailbook.open(settings) as tb:
        tb.tenants.create("acme")
    key_path = settings.resolved_signing_key_path
    rotate_signer(key_path, "2026-11-23T10:00:00.000000Z")
    text = keyring_path(key_path).read_text()
    keyring_path(key_path).write_text(text.replace('"key_id": "', '"key_id": "0', 1))
    with pytest.raises(StorageError, match="keyring"):
        Trailbook.open(settings)


def test_rotating_without_a_key_is_one_clear_line(tmp_path: Path) -> None:
    result = run(tmp_path, "signing-key", "rotate")
    assert result.returncode == 1 and "no signing key" in result.stderr
    assert "Traceback" not in result.stderr


def test_rotating_with_a_damaged_keyring_is_one_clear_line(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with Trailbook.open(settings):
        pass
    keyring_path(settings.resolved_signing_key_path).write_text("{not json")
    before = settings.resolved_signing_key_path.read_bytes()
    result = run(tmp_path, "signing-key", "rotate")
    assert result.returncode == 1 and "not a Trailbook keyring" in result.stderr
    assert "Traceback" not in result.stderr
    assert settings.resolved_signing_key_path.read_bytes() == before  # nothing changed
