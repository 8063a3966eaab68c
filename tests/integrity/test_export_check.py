"""Offline verification of exports (integrity/export_check.py): an untouched export of
each format verifies against its signed manifest with the public key alone; a changed
cell, a removed row, an added row, a reordered row each fail naming the row; a changed
manifest, a wrong key or a forged checkpoint fail too."""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson
import pytest

from trailbook.integrity.canonical import canonical_json
from trailbook.integrity.export_check import (
    ExportCheckError,
    ExportReport,
    check_export,
    keys_by_id,
    public_key_from_text,
    read_manifest,
)
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.service.export.csv import BOM, csv_line
from trailbook.store.records import Tenant

FORMATS = ("csv", "xlsx", "json", "ndjson")
ROW = 17  # the row the tampering tests touch (counted from 1, header not counted)
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def trail(tb: Trailbook, tenant: Tenant) -> Tenant:
    """300 demo events in three appends (a signed checkpoint after each, at 100, 200 and
    300: the fixture's checkpoint_every_events is 100)."""
    events = list(demo_events(300, seed=11))
    for start in range(0, 300, 100):
        tb.events.ingest(tenant, [tb.events.parse_event(orjson.dumps(e))
                                  for e in events[start:start + 100]])
    return tenant


def export(tb: Trailbook, tenant: Tenant, fmt: str, folder: Path,
           flt: EventFilter | None = None, **options: Any) -> tuple[Path, Path]:
    path = folder / f"export.{fmt}"
    started = tb.exports.start_local(tenant, flt or EventFilter(), fmt, output=path,
                                     **options)
    path.write_bytes(b"".join(started.chunks))
    manifest = path.with_name(path.name + ".manifest.json")
    assert started.progress.manifest == manifest, started.progress.manifest_error
    return path, manifest


def check(tb: Trailbook, path: Path, manifest: Path) -> ExportReport:
    return check_export(path, read_manifest(manifest.read_bytes()),
                        {tb.signer.key_id: tb.signer.public})


def seqs(manifest: Path) -> list[int]:
    found: list[int] = read_manifest(manifest.read_bytes())["manifest"]["row_seqs"]
    return found


# -- rewriting a file's rows, as someone editing it would --------------------------------

Rows = list[Any]


def edit(path: Path, fmt: str, change: Callable[[Rows], None]) -> None:
    """Apply ``change`` to the file's rows (cells, or documents), write it back."""
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
        body = rows[1:]
        change(body)
        path.write_bytes(BOM + "".join(csv_line(r)[1] for r in [rows[0], *body]).encode())
    elif fmt == "ndjson":
        docs = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        change(docs)
        path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    elif fmt == "json":
        docs = orjson.loads(path.read_bytes())
        change(docs)
        path.write_bytes(orjson.dumps(docs))
    else:
        _edit_sheet(path, change)


def _edit_sheet(path: Path, change: Callable[[Rows], None]) -> None:
    """The sheet's <row> elements as the rows: moved, dropped or copied whole."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    xml = parts[SHEET].decode()
    found = re.findall(r"<row [^>]*>.*?</row>", xml, flags=re.S)
    header, body = found[0], found[1:]
    change(body)
    start = xml.index(found[0])
    end = xml.index(found[-1]) + len(found[-1])
    parts[SHEET] = (xml[:start] + header + "".join(body) + xml[end:]).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)


def change_description(fmt: str) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        row = rows[ROW - 1]
        if fmt == "csv":
            row[24] = row[24] + " (edited)"
        elif fmt == "xlsx":
            # The description column is Y; put an edited text there.
            cell = f'<c r="Y{ROW + 1}" t="inlineStr"><is><t>edited</t></is></c>'
            edited, count = re.subn(rf'<c r="Y{ROW + 1}"[^>]*>.*?</c>', cell, row, flags=re.S)
            rows[ROW - 1] = edited if count else row.replace("</row>", cell + "</row>")
        else:
            row["description"] = (row.get("description") or "") + " (edited)"
    return change


def remove(rows: Rows) -> None:
    del rows[ROW - 1]


def swap(rows: Rows) -> None:
    rows[ROW - 1], rows[ROW] = rows[ROW], rows[ROW - 1]


def duplicate_fifth(rows: Rows) -> None:
    rows.insert(ROW - 1, rows[4])


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_untouched_export_verifies(tb: Trailbook, trail: Tenant, tmp_path: Path,
                                      fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)
    report = check(tb, path, manifest)
    assert report.ok, report.problems
    assert report.signature_ok and report.sha256_ok
    assert report.rows_found == report.rows_expected == 300
    assert report.checkpoints_checked == 3 and report.covering_checkpoint == 300
    if fmt in ("json", "ndjson"):
        # Every event re-linked, and (the export holding the whole chain up to the
        # checkpoint) tied to the checkpoints by recomputation alone.
        assert report.linked == report.tied == 300
    body = read_manifest(manifest.read_bytes())["manifest"]
    assert body["rows"] == 300 and (body["first_seq"], body["last_seq"]) == (1, 300)
    assert body["chain"]["from_seq"] == 0 and body["chain"]["to_seq"] == 300
    assert len(body["chain"]["hashes"]) == 301
    assert body["chain"]["hashes"][0] == "00" * 32
    assert ("row_digests" in body) == (fmt in ("csv", "xlsx"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_cell_names_its_row(tb: Trailbook, trail: Tenant, tmp_path: Path,
                                      fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)
    edit(path, fmt, change_description(fmt))
    report = check(tb, path, manifest)
    seq = seqs(manifest)[ROW - 1]
    assert not report.ok
    assert report.problems[0].startswith(f"row {ROW} (seq {seq}): changed"), report.problems
    assert len(report.problems) == 1  # that row alone
    if fmt in ("json", "ndjson"):
        assert report.problems[0].endswith("its content does not match its hash")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_removed_row_is_named(tb: Trailbook, trail: Tenant, tmp_path: Path,
                                fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)
    edit(path, fmt, remove)
    report = check(tb, path, manifest)
    seq = seqs(manifest)[ROW - 1]
    assert report.problems[0] == f"row {ROW} (seq {seq}): removed: seq {seq} is not in the file"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_added_row_is_named(tb: Trailbook, trail: Tenant, tmp_path: Path,
                               fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)
    edit(path, fmt, duplicate_fifth)
    report = check(tb, path, manifest)
    fifth = seqs(manifest)[4]
    assert report.problems[0] == (f"row {ROW} (seq {fifth}): added: a second copy of "
                                  f"seq {fifth}")


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_made_up_row_at_the_end_is_named(tb: Trailbook, trail: Tenant, tmp_path: Path,
                                           fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)

    def append(rows: Rows) -> None:
        made = list(rows[0]) if fmt == "csv" else dict(rows[0])
        if fmt == "csv":
            made[1] = "9999"
        else:
            made["seq"] = 9999
        rows.append(made)

    edit(path, fmt, append)
    report = check(tb, path, manifest)
    assert report.problems[0] == "row 301 (seq 9999): added: the manifest lists 300 rows"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_reordered_row_is_named(tb: Trailbook, trail: Tenant, tmp_path: Path,
                                  fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)
    edit(path, fmt, swap)
    report = check(tb, path, manifest)
    listed = seqs(manifest)
    assert report.problems[0] == (
        f"row {ROW} (seq {listed[ROW - 1]}): reordered: the file has seq {listed[ROW]} "
        f"here, which belongs at row {ROW + 1}")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_changed_hash_or_seq_cell_is_named(tb: Trailbook, trail: Tenant, tmp_path: Path,
                                             fmt: str) -> None:
    path, manifest = export(tb, trail, fmt, tmp_path)
    listed = seqs(manifest)

    def forge(rows: Rows) -> None:
        if fmt == "csv":
            rows[ROW - 1][27] = "ab" * 32
        else:
            rows[ROW - 1]["hash"] = "ab" * 32

    edit(path, fmt, forge)
    report = check(tb, path, manifest)
    assert report.problems[0] == (f"row {ROW} (seq {listed[ROW - 1]}): changed: its hash is "
                                  f"not the chain's hash at seq {listed[ROW - 1]}")

    path, manifest = export(tb, trail, fmt, tmp_path)

    def renumber(rows: Rows) -> None:
        if fmt == "csv":
            rows[ROW - 1][1] = "7777"
        else:
            rows[ROW - 1]["seq"] = 7777

    edit(path, fmt, renumber)
    report = check(tb, path, manifest)
    listed = seqs(manifest)
    assert report.problems[0] == (f"row {ROW} (seq {listed[ROW - 1]}): changed: the file has "
                                  "seq 7777 in its place")


@pytest.mark.parametrize("change", ["rows", "row_seqs", "chain", "tenant", "signature"])
def test_a_changed_manifest_fails_its_signature(tb: Trailbook, trail: Tenant,
                                                tmp_path: Path, change: str) -> None:
    path, manifest = export(tb, trail, "ndjson", tmp_path)
    doc = read_manifest(manifest.read_bytes())
    body = doc["manifest"]
    if change == "rows":
        body["rows"] = 299
    elif change == "row_seqs":
        body["row_seqs"][ROW - 1], body["row_seqs"][ROW] = (body["row_seqs"][ROW],
                                                           body["row_seqs"][ROW - 1])
    elif change == "chain":
        body["chain"]["hashes"][ROW] = "00" * 32
    elif change == "tenant":
        body["tenant"] = "globex"
    else:
        value = bytearray(base64.b64decode(doc["signature"]["value"]))
        value[0] ^= 1
        doc["signature"]["value"] = base64.b64encode(bytes(value)).decode()
    report = check_export(path, doc, {tb.signer.key_id: tb.signer.public})
    assert report.problems == ["the manifest's signature does not verify: the manifest was "
                               "changed, or signed by another key"]
    assert not report.signature_ok


def test_the_key_must_be_the_services(tb: Trailbook, trail: Tenant, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path, manifest = export(tb, trail, "json", tmp_path)
    doc = read_manifest(manifest.read_bytes())
    other = Ed25519PrivateKey.generate().public_key()
    report = check_export(path, doc, keys_by_id([other]))
    assert report.problems[0].startswith(f"the manifest is signed by key {tb.signer.key_id}, "
                                         "which is not among the public keys given")
    # The service's key, as PEM or as the base64 of GET /api/v1/keys.
    described = tb.signer.public_description()
    for text in (described["public_key_pem"], described["public_key"]):
        assert check_export(path, doc, keys_by_id([public_key_from_text(text)])).ok
    pem = tb.signer.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert check_export(path, doc, keys_by_id([public_key_from_text(pem)])).ok
    for bad in ("not a key", base64.b64encode(b"short").decode(),
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"):
        with pytest.raises(ExportCheckError):
            public_key_from_text(bad)


def test_a_forged_checkpoint_in_a_signed_manifest_is_named(
        tb: Trailbook, trail: Tenant, tmp_path: Path) -> None:
    """Were the service to sign a manifest with a checkpoint that is not genuine, the
    checkpoint's own signature still gives it away."""
    path, manifest = export(tb, trail, "ndjson", tmp_path)
    doc = read_manifest(manifest.read_bytes())
    entry = doc["manifest"]["checkpoints"][1]
    entry["time"] = "2020-01-01T00:00:00.000000Z"
    resigned = tb.signer.sign(sha256(canonical_json(doc["manifest"])).digest())
    doc["signature"]["value"] = base64.b64encode(resigned).decode()
    report = check_export(path, doc, {tb.signer.key_id: tb.signer.public})
    assert report.problems == [f"checkpoint at seq {entry['seq']}: its signature does not "
                               "verify"]


def test_a_filtered_export_verifies_and_says_what_is_tied(
        tb: Trailbook, trail: Tenant, tmp_path: Path) -> None:
    flt = EventFilter(results=("failure",))
    path, manifest = export(tb, trail, "ndjson", tmp_path, flt)
    report = check(tb, path, manifest)
    assert report.ok, report.problems
    count = len(path.read_bytes().splitlines())
    assert 0 < count < 300 and report.linked == count
    assert report.tied < count and report.notes  # the rest are tied by the listed hashes
    body = read_manifest(manifest.read_bytes())["manifest"]
    assert body["filter"] == {"results": ["failure"]}
    assert body["chain"]["from_seq"] == body["first_seq"] - 1


def test_an_export_with_a_time_zone_and_an_empty_one_verify(
        tb: Trailbook, trail: Tenant, tmp_path: Path) -> None:
    path, manifest = export(tb, trail, "csv", tmp_path, tz="America/New_York")
    assert check(tb, path, manifest).ok
    assert read_manifest(manifest.read_bytes())["manifest"]["tz"] == "America/New_York"
    assert "-05:00" in path.read_text("utf-8-sig").splitlines()[1]
    path, manifest = export(tb, trail, "json", tmp_path, EventFilter(categories=("nothing",)))
    report = check(tb, path, manifest)
    assert report.ok and report.rows_found == 0, report.problems
    assert path.read_bytes() == b"[]\n"


def test_past_the_chain_cap_the_manifest_leaves_the_chain_out(
        tb: Trailbook, trail: Tenant, tmp_path: Path) -> None:
    tb.exports.max_chain = 50
    path, manifest = export(tb, trail, "csv", tmp_path)
    body = read_manifest(manifest.read_bytes())["manifest"]
    assert body["chain"] is None and "export_manifest_max_chain" in body["chain_note"]
    report = check(tb, path, manifest)
    assert report.ok and report.notes == [body["chain_note"]]
    edit(path, "csv", change_description("csv"))  # the row digests still name the row
    assert check(tb, path, manifest).problems[0].startswith(f"row {ROW} (seq ")


def test_a_file_changed_but_not_its_rows_is_caught(tb: Trailbook, trail: Tenant,
                                                   tmp_path: Path) -> None:
    path, manifest = export(tb, trail, "json", tmp_path)
    path.write_bytes(orjson.dumps(orjson.loads(path.read_bytes()),
                                  option=orjson.OPT_INDENT_2))
    report = check(tb, path, manifest)
    assert report.problems == ["the file's SHA-256 or size differs from the manifest's: the "
                               "file was changed, though every row reads as exported"]


def test_a_damaged_store_gets_no_manifest(tb: Trailbook, trail: Tenant,
                                          tmp_path: Path) -> None:
    """The service re-links the chain it lists before signing: it signs no manifest
    over stored events that do not match their hashes."""
    import sqlite3

    db = tb.settings.resolved_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:  # an attacker, past the append-only trigger
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET doc = CAST(replace(doc, '\"seq\":150,',"
                     " '\"seq\":150 ,') AS BLOB) WHERE seq = 150")
    path = tmp_path / "export.json"
    started = tb.exports.start_local(trail, EventFilter(), "json", output=path)
    path.write_bytes(b"".join(started.chunks))
    assert started.progress.manifest is None
    assert started.progress.manifest_error is not None
    assert "seq 150: its stored record does not match its hash" in (
        started.progress.manifest_error)
    assert path.with_name(path.name + ".manifest.json.failed").exists()
