"""The signed manifest of an export, written as a stream: memory stays flat however
many rows the export has.

The manifest file is the RFC 8785 form of ``{"manifest": M, "signature": S}``. ``M``
says what the export is (tenant, filter, format, rows, the file's SHA-256 …) and holds,
per row in file order, the event's ``seq`` (and for rows that are cells rather than
re-linkable documents, a digest of the row), the chain hashes from the first exported
seq - 1 up to a signed checkpoint, and the signed checkpoints in that stretch.
``S["value"]`` is the Ed25519 signature, by the service's key, of the 32-byte SHA-256
digest of the RFC 8785 form of ``M``: signing the digest rather than the form itself
lets the service write a manifest of any size without holding it in memory.
``integrity/export_check.py`` checks one; ``docs/integrity.md`` says what it proves.

While an export streams, the row seqs and digests go to temporary files as the JSON
text they will be in the manifest; at the end the manifest is written around them."""

from __future__ import annotations

import base64
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import IO, Any

from trailbook.errors import Conflict, ErrorDetail, NotFound
from trailbook.integrity.canonical import canonical_json
from trailbook.integrity.signing import Signer
from trailbook.store.records import Checkpoint

MANIFEST_VERSION = 1
SUFFIX = ".manifest.json"
_COPY = 1 << 20
_HASHES_PER_WRITE = 4096
EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")


def new_export_id() -> str:
    return uuid.uuid4().hex


class RowLog:
    """Each exported row's seq (and digest), spooled as JSON text, with the count and
    the least and greatest seq."""

    def __init__(self, *, digests: bool) -> None:
        self.count = 0
        self.min_seq: int | None = None
        self.max_seq: int | None = None
        self._seqs: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close)
        self._digests: IO[bytes] | None = tempfile.TemporaryFile() if digests else None  # noqa: SIM115

    @property
    def has_digests(self) -> bool:
        return self._digests is not None

    def add(self, seqs: list[int], digests: bytes | bytearray) -> None:
        if not seqs:
            return
        lead = b"," if self.count else b""
        self._seqs.write(lead + ",".join(map(str, seqs)).encode())
        if self._digests is not None:
            self._digests.write(lead + _hex_strings(digests, len(digests) // len(seqs)))
        low, high = min(seqs), max(seqs)
        self.min_seq = low if self.min_seq is None else min(self.min_seq, low)
        self.max_seq = high if self.max_seq is None else max(self.max_seq, high)
        self.count += len(seqs)

    def seqs_json(self) -> Iterator[bytes]:
        yield from _array(self._seqs)

    def digests_json(self) -> Iterator[bytes]:
        assert self._digests is not None
        yield from _array(self._digests)

    def close(self) -> None:
        self._seqs.close()
        if self._digests is not None:
            self._digests.close()


def _array(spool: IO[bytes]) -> Iterator[bytes]:
    spool.flush()
    spool.seek(0)
    yield b"["
    while chunk := spool.read(_COPY):
        yield chunk
    yield b"]"


@dataclass(frozen=True)
class ChainSpan:
    """The chain hashes of seqs ``from_seq`` … ``to_seq`` (``from_seq`` may be 0: the
    genesis value), read as the manifest is written."""

    from_seq: int
    to_seq: int
    hashes: Callable[[], Iterable[bytes]]


def checkpoint_entry(checkpoint: Checkpoint) -> dict[str, Any]:
    """A signed checkpoint as a manifest lists it: what its signature covers
    (``checkpoint_payload``) and the signature."""
    entry = {"seq": checkpoint.seq, "hash": bytes(checkpoint.hash).hex(),
             "time": checkpoint.created_at, "key_id": checkpoint.key_id,
             "signature": base64.b64encode(bytes(checkpoint.signature)).decode()}
    if checkpoint.tree_root is not None:
        entry["tree_root"] = bytes(checkpoint.tree_root).hex()
    return entry


def _hashes_json(hashes: Iterable[bytes]) -> Iterator[bytes]:
    yield b"["
    batch: list[bytes] = []
    first = True
    for value in hashes:
        batch.append(value)
        if len(batch) == _HASHES_PER_WRITE:
            yield (b"" if first else b",") + _hex_strings(b"".join(batch), len(value))
            first = False
            batch = []
    if batch:
        yield (b"" if first else b",") + _hex_strings(b"".join(batch), len(batch[0]))
    yield b"]"


def _hex_strings(data: bytes | bytearray, width: int) -> bytes:
    """``data``, pieces of ``width`` bytes, as JSON strings of lowercase hex joined by
    commas: ``"00ff…","…"`` (one pass in C: ``hex`` puts a separator between pieces)."""
    return b'"' + data.hex("|", width).encode().replace(b"|", b'","') + b'"'



def write_manifest(out: IO[bytes], header: dict[str, Any], rows: RowLog,
                   chain: ChainSpan | None, checkpoints: list[Checkpoint],
                   signer: Signer) -> str:
    """Write the signed manifest to ``out``; the SHA-256 (hex) of the RFC 8785 form of
    its ``manifest`` part, which the signature covers.

    The small fields are put in RFC 8785 form as one object in which each large array
    is a placeholder string; the form is then written with the arrays streamed in
    place of their placeholders (integers and hex strings are their own canonical
    text, so the result is the RFC 8785 form of the whole)."""
    marks = {name: f"@@{name}-{uuid.uuid4().hex}@@" for name in ("seqs", "digests", "chain")}
    body: dict[str, Any] = {
        **header,
        "version": MANIFEST_VERSION,
        "key_id": signer.key_id,
        "rows": rows.count,
        "first_seq": rows.min_seq,
        "last_seq": rows.max_seq,
        "row_seqs": marks["seqs"],
        "chain": None if chain is None else {
            "from_seq": chain.from_seq, "to_seq": chain.to_seq, "hashes": marks["chain"]},
        "checkpoints": [checkpoint_entry(c) for c in checkpoints],
    }
    streams: dict[str, Callable[[], Iterable[bytes]]] = {marks["seqs"]: rows.seqs_json}
    if chain is not None:
        hashes = chain.hashes
        streams[marks["chain"]] = lambda: _hashes_json(hashes())
    if rows.has_digests:
        body["row_digests"] = marks["digests"]
        streams[marks["digests"]] = rows.digests_json
    form = canonical_json(body)
    digest = sha256()

    def emit(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    out.write(b'{"manifest":')
    rest = form
    while True:
        found = [(rest.find(b'"' + mark.encode() + b'"'), mark) for mark in streams]
        found = [(at, mark) for at, mark in found if at >= 0]
        if not found:
            emit(rest)
            break
        at, mark = min(found)
        emit(rest[:at])
        for piece in streams.pop(mark)():
            emit(piece)
        rest = rest[at + len(mark) + 2:]
    signature = signer.sign(digest.digest())
    out.write(b',"signature":' + canonical_json({
        "algorithm": "Ed25519", "key_id": signer.key_id,
        "value": base64.b64encode(signature).decode()}) + b"}")
    return digest.hexdigest()


@dataclass
class ManifestTarget:
    """Where one export's manifest goes: written to ``partial`` while it is made, then
    renamed to ``final``; a failure leaves ``failed`` holding the reason."""

    partial: Path
    final: Path
    failed: Path

    def begin(self) -> None:
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)

    def write(self, make: Callable[[IO[bytes]], None]) -> None:
        with self.partial.open("wb") as out:
            make(out)
        os.replace(self.partial, self.final)

    def fail(self, reason: str) -> None:
        self.partial.unlink(missing_ok=True)
        fd = os.open(self.failed, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(reason)

    def abandon(self) -> None:
        self.partial.unlink(missing_ok=True)


def beside(path: Path) -> ManifestTarget:
    """The manifest of an export written to ``path``: ``path`` + ``.manifest.json``."""
    final = path.with_name(path.name + SUFFIX)
    return ManifestTarget(final.with_name(final.name + ".partial"), final,
                          final.with_name(final.name + ".failed"))


@dataclass(frozen=True)
class StoredManifest:
    path: Path
    filename: str  # as the client should save it


class ManifestStore:
    """The manifests of exports made through the API: files in one folder, named
    ``<tenant id>.<export id>.<export file name>.manifest.json``, kept for ``ttl``
    seconds after they are written (a manifest still being written, or one that
    failed, has its own suffix). Every process of the server shares the folder, so
    any of them answers for an export another one ran."""

    def __init__(self, folder: Path, ttl: float) -> None:
        self.folder = folder
        self.ttl = ttl

    def target(self, tenant_id: int, export_id: str, filename: str) -> ManifestTarget:
        self.sweep()
        final = self.folder / f"{tenant_id}.{export_id}.{filename}{SUFFIX}"
        target = ManifestTarget(final.with_name(final.name + ".partial"), final,
                                final.with_name(final.name + ".failed"))
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return target

    def find(self, tenant_id: int, export_id: str) -> StoredManifest:
        """The finished manifest of ``export_id``; NotFound if there is none (unknown,
        another tenant's, or expired), Conflict if it is being written or failed."""
        if not EXPORT_ID.match(export_id):
            raise NotFound("no such export", [ErrorDetail("export_id", "not an export id")])
        self.sweep()
        prefix = f"{tenant_id}.{export_id}."
        try:
            names = [p.name for p in self.folder.iterdir() if p.name.startswith(prefix)]
        except FileNotFoundError:
            names = []
        for name in names:
            if name.endswith(SUFFIX):
                return StoredManifest(self.folder / name, name[len(prefix):])
        for name in names:
            if name.endswith(".failed"):
                reason = (self.folder / name).read_text("utf-8", errors="replace")
                raise Conflict("the export's manifest could not be made",
                               [ErrorDetail("export_id", reason)])
        if any(n.endswith(".partial") for n in names):
            raise Conflict("the export is still running", [ErrorDetail(
                "export_id", "its manifest is ready when the download has ended")])
        raise NotFound("no such export", [ErrorDetail(
            "export_id", f"unknown, or its manifest is older than {self.ttl / 60:g} minutes")])

    def sweep(self) -> None:
        """Delete manifests past their time (and leftovers of a process that died
        while writing one: a day old)."""
        now = time.time()
        try:
            entries = list(self.folder.iterdir())
        except FileNotFoundError:
            return
        for entry in entries:
            limit = max(self.ttl, 86_400.0) if entry.name.endswith(".partial") else self.ttl
            try:
                if now - entry.stat().st_mtime > limit:
                    entry.unlink()
            except FileNotFoundError:
                pass
