"""Offline verification of an export against its signed manifest: no store, no service,
only the file, the manifest and the service's public key(s).

What is checked, in order (``check_export``):

1. The manifest's signature: Ed25519, by the key named ``key_id``, over the SHA-256 of
   the RFC 8785 form of the ``manifest`` object. Nothing else is trusted before it.
2. Each row of the file against the manifest, in file order: its ``seq`` is the one
   listed for that row (else the row is named as removed, added, reordered or
   changed); for CSV and XLSX, and masked JSON, the row's digest (``row_digest``,
   ``document_digest``) is the listed one; the row's ``hash`` is the chain's hash at
   its seq; and for JSON and NDJSON each event, stripped of ``hash`` and put in RFC
   8785 form, re-links: SHA-256(chain hash at seq - 1 || form) is its hash.
3. The file's size and SHA-256, and the row count.
4. The signed checkpoints listed: each signature verifies (``checkpoint_payload``, the
   key named by the checkpoint) and each checkpoint's hash is the chain's hash at its
   seq; the chain ends at a checkpoint.

The first problem found names its row: ``row 17 (seq 2051): changed: …``. Rows are
counted from 1 in file order; the header of a CSV or XLSX file is not counted."""

from __future__ import annotations

import base64
import binascii
import csv
import gzip
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from trailbook.integrity.canonical import CanonicalFormError, canonical_json
from trailbook.integrity.chain import link
from trailbook.integrity.signing import checkpoint_payload, key_id_of, signature_valid

ROW_DIGEST_BYTES = 16
MAX_PROBLEMS = 20
_CHUNK = 1 << 20
TABULAR = ("csv", "xlsx")
_XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


class ExportCheckError(ValueError):
    """The manifest or a key cannot be read at all."""


def row_digest(cells: list[str]) -> bytes:
    """What a manifest keeps of one CSV or XLSX row: the first 16 bytes of the SHA-256
    of the RFC 8785 form of its cells (a JSON array of strings, as the file holds them;
    XLSX's number cell ``seq`` as its decimal digits, empty cells as "")."""
    return sha256(canonical_json(cells, exact=False)).digest()[:ROW_DIGEST_BYTES]


def document_digest(doc: Any) -> bytes:
    """What a manifest keeps of one masked JSON row (which cannot re-link to its chain
    hash): the first 16 bytes of the SHA-256 of the RFC 8785 form of the document as
    the file holds it, ``hash`` included."""
    return sha256(canonical_json(doc)).digest()[:ROW_DIGEST_BYTES]


def public_key_from_text(text: str | bytes) -> Ed25519PublicKey:
    """A public key as PEM (SubjectPublicKeyInfo) or as the raw 32 bytes in base64
    (``public_key`` in ``GET /api/v1/keys``)."""
    data = text.encode() if isinstance(text, str) else text
    if b"-----BEGIN" in data:
        try:
            loaded = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise ExportCheckError(f"not a PEM public key: {exc}") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise ExportCheckError("the PEM key is not an Ed25519 public key")
        return loaded
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ExportCheckError("a public key is PEM or the raw key in base64") from None
    if len(raw) != 32:
        raise ExportCheckError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def keys_by_id(keys: list[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {key_id_of(k): k for k in keys}


def read_manifest(data: bytes) -> dict[str, Any]:
    """The manifest file, parsed: ``{"manifest": …, "signature": …}``."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ExportCheckError(f"the manifest is not JSON: {exc}") from None
    if (not isinstance(doc, dict) or not isinstance(doc.get("manifest"), dict)
            or not isinstance(doc.get("signature"), dict)):
        raise ExportCheckError("not an export manifest: expected "
                               '{"manifest": {…}, "signature": {…}}')
    return doc


def manifest_signature_problem(doc: dict[str, Any],
                               keys: dict[str, Ed25519PublicKey]) -> str | None:
    """None if the manifest's signature verifies with one of ``keys``; else why not."""
    manifest, signature = doc["manifest"], doc["signature"]
    key_id = signature.get("key_id")
    if signature.get("algorithm") != "Ed25519":
        return f"the manifest's signature algorithm {signature.get('algorithm')!r} is unknown"
    key = keys.get(str(key_id))
    if key is None:
        given = ", ".join(sorted(keys)) or "none"
        return (f"the manifest is signed by key {key_id}, which is not among the public "
                f"keys given ({given})")
    if manifest.get("key_id") != key_id:
        return "the manifest names another key than its signature: it was changed"
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
        digest = sha256(canonical_json(manifest)).digest()
    except (binascii.Error, ValueError, CanonicalFormError):
        return "the manifest's signature cannot be read"
    if not signature_valid(key, digest, value):
        return ("the manifest's signature does not verify: the manifest was changed, or "
                "signed by another key")
    return None


@dataclass
class ExportReport:
    file: str
    format: str = ""
    tenant: str = ""
    rows_expected: int = 0
    rows_found: int = 0
    signature_ok: bool = False
    sha256_ok: bool = False
    linked: int = 0  # JSON events re-linked to their chain hash from the one before
    tied: int = 0  # events tied to a signed checkpoint by recomputation alone
    checkpoints_checked: int = 0
    covering_checkpoint: int | None = None
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self.more_problems += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file, "ok": self.ok, "format": self.format, "tenant": self.tenant,
            "rows_expected": self.rows_expected, "rows_found": self.rows_found,
            "signature_ok": self.signature_ok, "sha256_ok": self.sha256_ok,
            "linked": self.linked, "tied": self.tied,
            "checkpoints_checked": self.checkpoints_checked,
            "covering_checkpoint": self.covering_checkpoint,
            "first_problem": self.problems[0] if self.problems else None,
            "problems": self.problems, "more_problems": self.more_problems,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class _Row:
    seq: int | None
    hash: str | None
    digest: bytes | None  # the row's digest (tabular, or masked JSON)
    canonical: bytes | None  # JSON: the event's RFC 8785 form without hash
    broken: str | None = None  # the row cannot be read as an event


def _seq_of(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        yield from csv.reader(handle)


def _column_index(ref: str) -> int:
    number = 0
    for char in ref:
        if not char.isalpha():
            break
        number = number * 26 + (ord(char.upper()) - 64)
    return number - 1


def _ooxml_text(element: ElementTree.Element) -> str:
    """The text of a string item (``<si>`` or ``<is>``), runs joined, with OOXML's
    ``_xHHHH_`` escapes undone (how XML carries control characters)."""
    text = "".join(t.text or "" for t in element.iter(f"{_XLSX_NS}t"))
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def xlsx_rows(path: Path) -> Iterator[list[str]]:
    """The first sheet of an .xlsx file, a row at a time, each cell as text: strings
    (inline or shared) as they read, numbers as written (integers without a decimal
    point), empty cells as ""."""
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            with book.open("xl/sharedStrings.xml") as handle:
                for _, element in ElementTree.iterparse(handle):
                    if element.tag == f"{_XLSX_NS}si":
                        shared.append(_ooxml_text(element))
                        element.clear()
        sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        if not sheets:
            raise ExportCheckError("the .xlsx file has no worksheet")
        sheet = min(sheets, key=lambda n: int(re.sub(r"\D", "", n)))
        with book.open(sheet) as handle:
            cells: dict[int, str] = {}
            for _, element in ElementTree.iterparse(handle):
                if element.tag == f"{_XLSX_NS}c":
                    kind = element.get("t", "n")
                    value = element.find(f"{_XLSX_NS}v")
                    if kind == "inlineStr":
                        found = element.find(f"{_XLSX_NS}is")
                        text = _ooxml_text(found) if found is not None else ""
                    elif kind == "s" and value is not None and value.text is not None:
                        text = shared[int(value.text)]
                    else:
                        text = (value.text or "") if value is not None else ""
                        if kind == "n" and re.fullmatch(r"-?\d+\.0+", text):
                            text = text.split(".")[0]
                    cells[_column_index(element.get("r", ""))] = text
                elif element.tag == f"{_XLSX_NS}row":
                    width = max(cells) + 1 if cells else 0
                    yield [cells.get(i, "") for i in range(width)]
                    cells = {}
                    element.clear()


def _tabular_rows(path: Path, fmt: str, columns: list[str],
                  report: ExportReport) -> Iterator[_Row]:
    source = _csv_rows(path) if fmt == "csv" else xlsx_rows(path)
    header = next(source, None)
    if header is None or [h for h in header] != columns:
        report.problem("the header row differs from the export's columns "
                       f"({', '.join(columns[:4])}, …)")
        return
    seq_at, hash_at = columns.index("seq"), columns.index("hash")
    width = len(columns)
    for cells in source:
        if len(cells) < width and all(c == "" for c in cells[width:]):
            cells = cells + [""] * (width - len(cells))
        if len(cells) != width:
            yield _Row(_seq_of(cells[seq_at]) if len(cells) > seq_at else None, None,
                       None, None, f"it has {len(cells)} cells, not {width}")
            continue
        yield _Row(_seq_of(cells[seq_at]), cells[hash_at], row_digest(cells), None)


def _json_row(doc: Any, masked: bool) -> _Row:
    if not isinstance(doc, dict):
        return _Row(None, None, None, None, "it is not a JSON object")
    seq = _seq_of(doc.get("seq"))
    hash_ = doc.get("hash")
    try:
        if masked:
            return _Row(seq, hash_ if isinstance(hash_, str) else None,
                        document_digest(doc), None)
        body = {k: v for k, v in doc.items() if k != "hash"}
        return _Row(seq, hash_ if isinstance(hash_, str) else None, None,
                    canonical_json(body))
    except CanonicalFormError as exc:
        return _Row(seq, None, None, None, f"it has no canonical form ({exc})")


def _json_rows(path: Path, fmt: str, masked: bool, report: ExportReport,
               compressed: bool = False) -> Iterator[_Row]:
    if fmt == "json":
        yield from _json_array(path, masked, report)
        return
    # A retention archive is NDJSON in gzip; its manifest says so.
    with (gzip.open(path, "rb") if compressed else path.open("rb")) as handle:
        lines = enumerate(handle, 1)
        while True:
            try:
                number, line = next(lines)
            except StopIteration:
                return
            except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
                yield _Row(None, None, None, None, f"the gzip stream is damaged ({exc})")
                return
            if not line.strip():
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield _Row(None, None, None, None, f"line {number} is not JSON")
                continue
            yield _json_row(doc, masked)


def _json_array(path: Path, masked: bool, report: ExportReport) -> Iterator[_Row]:
    """The rows of a JSON array export: a line at a time when it is laid out as the
    export writes it (``[``, one document a line, ``]``), else parsed whole."""
    with path.open("rb") as handle:
        first, second = handle.readline().strip(), handle.readline().strip()
        try:
            line_by_line = first == b"[" and isinstance(
                orjson.loads(second.removesuffix(b",")), dict)
        except orjson.JSONDecodeError:
            line_by_line = False
        if line_by_line:
            handle.seek(0)
            handle.readline()
            for number, line in enumerate(handle, 2):
                text = line.strip()
                if text in (b"]", b""):
                    continue
                try:
                    doc = orjson.loads(text.removesuffix(b","))
                except orjson.JSONDecodeError:
                    yield _Row(None, None, None, None, f"line {number} is not JSON")
                    continue
                yield _json_row(doc, masked)
            return
    try:
        whole = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        report.problem(f"the file is not JSON: {exc}")
        return
    if not isinstance(whole, list):
        report.problem("the file is not a JSON array of events")
        return
    for doc in whole:
        yield _json_row(doc, masked)


class _Chain:
    def __init__(self, chain: dict[str, Any] | None) -> None:
        self.present = isinstance(chain, dict)
        self.from_seq = int(chain["from_seq"]) if chain else 0
        self.to_seq = int(chain["to_seq"]) if chain else -1
        self.hashes: list[str] = list(chain["hashes"]) if chain else []

    def at(self, seq: int) -> str | None:
        index = seq - self.from_seq
        return self.hashes[index] if 0 <= index < len(self.hashes) else None


def _position_problem(index: int, seq: int | None, expected: list[int],
                      expected_at: dict[int, int], file_seqs: Counter[int]) -> str:
    """Why row ``index``, whose seq is ``seq``, holds another event than the manifest
    lists there."""
    row = index + 1
    if index >= len(expected):
        return f"row {row} (seq {seq}): added: the manifest lists {len(expected):,} rows"
    want = expected[index]
    if seq is None:
        return f"row {row} (seq {want}): changed: its seq cannot be read"
    if seq not in expected_at:
        if file_seqs[want] == 0:
            return f"row {row} (seq {want}): changed: the file has seq {seq} in its place"
        return f"row {row} (seq {seq}): added: seq {seq} is not in the export"
    if file_seqs[want] == 0:
        return f"row {row} (seq {want}): removed: seq {want} is not in the file"
    if file_seqs[seq] > 1:
        return f"row {row} (seq {seq}): added: a second copy of seq {seq}"
    return (f"row {row} (seq {want}): reordered: the file has seq {seq} here, which "
            f"belongs at row {expected_at[seq] + 1}")


def check_export(path: Path, doc: dict[str, Any],
                 keys: dict[str, Ed25519PublicKey]) -> ExportReport:
    """Check the export file at ``path`` against its manifest ``doc`` (``read_manifest``)
    with the service's public ``keys`` (by key id)."""
    report = ExportReport(str(path))
    why = manifest_signature_problem(doc, keys)
    if why is not None:
        report.problem(why)
        return report
    report.signature_ok = True
    manifest = doc["manifest"]
    fmt = str(manifest.get("format"))
    report.format = fmt
    report.tenant = str(manifest.get("tenant"))
    masked = bool(manifest.get("masked"))
    expected: list[int] = [int(s) for s in manifest.get("row_seqs") or []]
    report.rows_expected = int(manifest.get("rows", len(expected)))
    digests: list[str] | None = manifest.get("row_digests")
    chain = _Chain(manifest.get("chain"))
    if not chain.present and manifest.get("chain_note"):
        report.notes.append(str(manifest["chain_note"]))
    if fmt in TABULAR:
        rows = _tabular_rows(path, fmt, list(manifest.get("columns") or []), report)
    elif fmt in ("json", "ndjson"):
        compression = manifest.get("compression")
        if compression not in (None, "gzip") or (compression and fmt != "ndjson"):
            report.problem(f"unknown compression {compression!r} for {fmt}")
            return report
        rows = _json_rows(path, fmt, masked, report, compressed=compression == "gzip")
    else:
        report.problem(f"unknown export format {fmt!r}")
        return report
    linked = _check_rows(report, rows, expected, digests, chain, masked, fmt)
    sha, size = _file_sha256(path)
    file_info = manifest.get("file") or {}
    report.sha256_ok = sha == file_info.get("sha256") and size == file_info.get("bytes")
    if not report.sha256_ok and not report.problems:
        whole = chain.present or digests is not None  # each row was checked in full
        report.problem("the file's SHA-256 or size differs from the manifest's: the file "
                       "was changed" + (", though every row reads as exported" if whole
                                        else "; the rows cannot be told apart without the "
                                        "chain"))
    if report.rows_found != report.rows_expected and not report.problems:
        report.problem(f"the file holds {report.rows_found:,} rows; the manifest lists "
                       f"{report.rows_expected:,}")
    _check_checkpoints(report, manifest, chain, linked, expected, keys)
    return report


def _check_rows(report: ExportReport, rows: Iterator[_Row], expected: list[int],
                digests: list[str] | None, chain: _Chain, masked: bool,
                fmt: str) -> set[int]:
    """Check each row against the manifest, in one pass over the file (a row's content
    is checked as it is read; only its seq and any problem are kept); the seqs that
    re-linked."""
    seen: list[int | None] = []  # each row's seq, in file order
    problems: dict[int, str] = {}  # a row in its listed place, but not as exported
    linked: set[int] = set()
    for index, got in enumerate(rows):
        seen.append(got.seq)
        if index >= len(expected) or got.seq != expected[index]:
            if got.broken is not None and got.seq is None:
                problems[index] = got.broken
            continue
        if got.broken is not None:
            problems[index] = got.broken
            continue
        problem = _row_problem(got, index, digests, chain, masked, fmt)
        if problem is not None:
            if len(problems) <= MAX_PROBLEMS:
                problems[index] = problem
        elif got.canonical is not None and chain.present:
            linked.add(got.seq)
    report.rows_found = len(seen)
    expected_at = {seq: i for i, seq in enumerate(expected)}
    file_seqs = Counter(seq for seq in seen if seq is not None)
    for index in range(max(len(seen), len(expected))):
        if index >= len(seen):
            report.problem(f"row {index + 1} (seq {expected[index]}): removed: the file ends "
                           f"after row {len(seen):,}")
            break
        seq = seen[index]
        if seq is None and index in problems:
            want = expected[index] if index < len(expected) else None
            report.problem(f"row {index + 1} (seq {want}): changed: {problems[index]}")
            continue
        if index >= len(expected) or seq != expected[index]:
            report.problem(_position_problem(index, seq, expected, expected_at, file_seqs))
            break  # every row after it is out of place too
        if index in problems:
            report.problem(f"row {index + 1} (seq {seq}): changed: {problems[index]}")
    report.linked = len(linked)
    return linked


def _row_problem(got: _Row, index: int, digests: list[str] | None, chain: _Chain,
                 masked: bool, fmt: str) -> str | None:
    assert got.seq is not None
    want_hash = chain.at(got.seq)
    if chain.present and want_hash is None:
        return "its seq lies outside the manifest's chain"
    if got.digest is not None:
        if digests is None or index >= len(digests):
            return "the manifest has no digest for it"
        if got.digest.hex() != digests[index]:
            what = "cells" if fmt in TABULAR else "document"
            if want_hash is not None and got.hash != want_hash:
                return f"its hash is not the chain's hash at seq {got.seq}"
            return f"its {what} differ from what was exported"
    if want_hash is not None and got.hash != want_hash:
        return f"its hash is not the chain's hash at seq {got.seq}"
    if got.canonical is not None and chain.present and not masked:
        previous = chain.at(got.seq - 1)
        if previous is None:
            return "the manifest's chain lacks the hash before it"
        if link(bytes.fromhex(previous), got.canonical).hex() != got.hash:
            return "its content does not match its hash"
    return None


def _check_checkpoints(report: ExportReport, manifest: dict[str, Any], chain: _Chain,
                       linked: set[int], expected: list[int],
                       keys: dict[str, Ed25519PublicKey]) -> None:
    if not chain.present:
        return
    tenant = str(manifest.get("tenant"))
    valid: list[int] = []
    for entry in manifest.get("checkpoints") or []:
        seq = int(entry["seq"])
        report.checkpoints_checked += 1
        problem = _checkpoint_problem(tenant, entry, chain, keys)
        if problem is not None:
            report.problem(f"checkpoint at seq {seq}: {problem}")
        else:
            valid.append(seq)
    if expected:
        if chain.from_seq != min(expected) - 1 or chain.to_seq < max(expected):
            report.problem("the manifest's chain does not span the exported seqs")
        if chain.to_seq not in valid:
            report.problem(f"no valid signed checkpoint ends the chain at seq {chain.to_seq}: "
                           "the exported hashes are not tied to one")
        else:
            report.covering_checkpoint = chain.to_seq
    # Events whose every successor up to a signed checkpoint is in the file and
    # re-linked: proven against that checkpoint's signature by recomputation alone.
    tied: set[int] = set()
    for seq in valid:
        at = seq
        while at in linked and at not in tied:
            tied.add(at)
            at -= 1
    report.tied = len(tied)
    if report.linked and report.tied < report.linked:
        report.notes.append(
            f"{report.linked - report.tied:,} re-linked event(s) are followed by events not "
            "in this export before their checkpoint: they are tied to it by the chain "
            "hashes the signed manifest lists, not by recomputation alone")


def _checkpoint_problem(tenant: str, entry: dict[str, Any], chain: _Chain,
                        keys: dict[str, Ed25519PublicKey]) -> str | None:
    seq = int(entry["seq"])
    key = keys.get(str(entry.get("key_id")))
    if key is None:
        return f"signed by key {entry.get('key_id')}, which is not among the keys given"
    try:
        chain_hash = bytes.fromhex(str(entry["hash"]))
        signature = base64.b64decode(str(entry["signature"]), validate=True)
        root = entry.get("tree_root")
        tree_root = bytes.fromhex(str(root)) if root is not None else None
    except (binascii.Error, ValueError):
        return "its hash or signature cannot be read"
    payload = checkpoint_payload(tenant, seq, chain_hash, str(entry.get("time")),
                                 str(entry.get("key_id")), tree_root)
    if not signature_valid(key, payload, signature):
        return "its signature does not verify"
    if chain.at(seq) != entry["hash"]:
        return "its hash is not the manifest's chain hash at that seq"
    return None
