"""The archive a purge writes before it removes anything: the events, gzip NDJSON (each
line an event as the API answers it: its stored document plus ``hash``), and beside
it a signed manifest in the export format (``service/export/manifest.py``), with the
chain hashes from the first archived seq - 1 up to a signed checkpoint. So an archive
verifies on its own, offline, long after its events left the database:
``trailbook verify --export ARCHIVE --public-key KEY`` (the manifest beside it).

Both files are written under a ``.partial`` name, flushed to disk and then renamed,
so a file with the final name is whole. A run killed before its purge commits leaves
at most an archive no purge record names: the next run removes it."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import IO, Any

from trailbook.errors import ErrorDetail, IntegrityFailure
from trailbook.integrity.signing import Signer
from trailbook.model.timefmt import format_us
from trailbook.service.export.manifest import SUFFIX, ChainSpan, RowLog, write_manifest
from trailbook.service.relink import ChainBreak, relinked
from trailbook.store.base import Store
from trailbook.store.records import ChainRow, Checkpoint, Tenant

ARCHIVE_SUFFIX = ".ndjson.gz"
PARTIAL = ".partial"
_LINES_PER_WRITE = 1000


@dataclass(frozen=True)
class Archive:
    path: Path
    manifest: Path
    sha256: str  # of the archive file
    bytes: int
    manifest_sha256: str  # of the manifest file


def archive_name(tenant: Tenant, purge_id: str, created_us: int) -> str:
    stamp = format_us(created_us)[:19].replace("-", "").replace(":", "")
    return f"{tenant.name}-{stamp}Z-{purge_id}{ARCHIVE_SUFFIX}"


def archive_of(name: str) -> str | None:
    """The archive a file of the archive folder belongs to (the archive itself, its
    manifest, or either while written), by name; None for any other file."""
    base = name.removesuffix(PARTIAL).removesuffix(SUFFIX)
    stem = base.removesuffix(ARCHIVE_SUFFIX)
    return base if stem != base and "-" in stem else None


def tenant_folder(root: Path, tenant: Tenant) -> Path:
    return root / tenant.name


def _document(row: ChainRow) -> bytes:
    return row.doc[:-1] + b',"hash":"' + row.hash.hex().encode() + b'"}'


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, make: Callable[[IO[bytes]], object]) -> None:
    partial = path.with_name(path.name + PARTIAL)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        make(out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_archive(store: Store, signer: Signer, folder: Path, tenant: Tenant,
                  purge_id: str, created_us: int, rows: list[ChainRow],
                  cover: Checkpoint, header: dict[str, Any]) -> Archive:
    """Archive ``rows`` (in seq order; every seq at or before ``cover``, a signed
    checkpoint) as purge ``purge_id``."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / archive_name(tenant, purge_id, created_us)

    def lines() -> Iterator[bytes]:
        for at in range(0, len(rows), _LINES_PER_WRITE):
            yield b"".join(_document(r) + b"\n" for r in rows[at:at + _LINES_PER_WRITE])

    def make_archive(out: IO[bytes]) -> None:
        # mtime 0: the same events make the same bytes.
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as packed:
            for chunk in lines():
                packed.write(chunk)

    _write_synced(path, make_archive)
    sha, size = _file_sha256(path)
    log = RowLog(digests=False)
    try:
        log.add([r.seq for r in rows], b"")
        first, last = rows[0].seq, rows[-1].seq
        checkpoints = [c for c in store.list_checkpoints(tenant.id)
                       if first - 1 <= c.seq <= cover.seq]
        chain = ChainSpan(first - 1, cover.seq,
                          lambda: _hashes(store, tenant, first - 1, cover.seq, checkpoints))
        body = {**header, "kind": "retention-archive", "export_id": purge_id,
                "tenant": tenant.name, "format": "ndjson", "compression": "gzip",
                "masked": False, "snapshot_seq": last, "created_at": format_us(created_us),
                "file": {"name": path.name, "sha256": sha, "bytes": size}}
        manifest = path.with_name(path.name + SUFFIX)
        _write_synced(manifest, lambda out: write_manifest(out, body, log, chain,
                                                           checkpoints, signer))
    finally:
        log.close()
    _sync_dir(folder)
    manifest_sha, _ = _file_sha256(manifest)
    return Archive(path, manifest, sha, size, manifest_sha)


def _hashes(store: Store, tenant: Tenant, from_seq: int, to_seq: int,
            checkpoints: list[Checkpoint]) -> Iterator[bytes]:
    at = {c.seq: c for c in checkpoints}
    try:
        for seq, stored in relinked(store, tenant.id, from_seq, to_seq):
            if seq in at and bytes(at[seq].hash) != stored:
                raise ChainBreak(seq, "the chain differs from the signed checkpoint there")
            yield stored
    except ChainBreak as exc:
        raise IntegrityFailure(
            "the stored chain does not hold together; nothing archived or purged",
            [ErrorDetail("seq", f"seq {exc.seq}: {exc.why}; run 'trailbook verify'")]
        ) from None


def remove_archive(path: Path) -> None:
    """Remove an archive and its manifest (and their partial files)."""
    for name in (path.name, path.name + PARTIAL, path.name + SUFFIX,
                 path.name + SUFFIX + PARTIAL):
        (path.parent / name).unlink(missing_ok=True)
