"""The CSV and XLSX writers a page at a time: the CSV page is byte for byte what
``csv_line`` makes row by row, with the same digests (``row_digest``), whatever the
cells hold; the XLSX sheet's own rows read back (openpyxl, and the offline checker)
as the cells xlsxwriter's per-cell API writes, numbered from row 2 across pages, with
the whole range as the sheet's dimension; and the zip pieces (CRC-32 of joined
parts, DEFLATE streams joined, zip64 end records) hold."""

from __future__ import annotations

import io
import os
import random
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from trailbook.integrity.export_check import row_digest, xlsx_rows
from trailbook.service.export.csv import COLUMNS, CsvWriter, csv_line, fast_values
from trailbook.service.export.options import WriterOptions
from trailbook.service.export.xlsx import CUT_MARK, MAX_CELL, XlsxWriter, fit
from trailbook.service.export.xlsx_zip import (
    Member,
    central_directory,
    crc32_combine,
    deflate_part,
    deflate_whole,
    local_header,
)

# Text that takes every special way: separators, formula starts, quotes, backslashes,
# control characters, XML's characters, OOXML's escape look-alikes, edge whitespace.
AWKWARD = ["", "plain", "=1+1", "+1", "-2", "@x", "\tx", "\rx", 'a "q" b', "back\\slash",
           "ctl \x01\x08\x0b\x1f end", "us\x1fin", "rs\x1ein", "<b>&amp;</b>", "_x0041_",
           " lead", "trail ", "\u00a0nbsp", "non\ufffechar\uffff", "ünï 日本 😀", "line\nend",
           "crlf\r\n", "a,b"]


def event(rng: random.Random, seq: int, pool: list[str]) -> dict[str, Any]:
    def text() -> str | None:
        return rng.choice([*pool, None])

    return {
        "id": f"id-{seq}", "seq": seq, "occurred_at": "2026-03-01T12:00:00.250000Z",
        "received_at": "2026-03-01T12:00:01Z", "category": text(), "action": text(),
        "action_type": "create", "severity": "info", "result": text(), "reason": text(),
        "actor": {"id": text(), "name": text(), "email": text(), "type": "user"},
        "targets": [{"id": text(), "name": text(), "type": text()}
                    for _ in range(rng.randrange(3))],
        "scope": text(), "source": {"ip": "::1", "user_agent": text(), "country": text()},
        "request_id": text(), "session_id": text(), "description": text(),
        "changes": [{"field": text(), "new": text()}] if rng.random() < 0.5 else [],
        "metadata": {"k": text()} if rng.random() < 0.5 else {}, "hash": "ab" * 32,
    }


def docs_of(count: int, seed: int, pool: list[str] = AWKWARD) -> list[bytes]:
    rng = random.Random(seed)
    return [orjson.dumps(event(rng, seq, pool)) for seq in range(1, count + 1)]


def row_by_row(docs: list[bytes]) -> tuple[bytes, bytes]:
    lines, digests = [], bytearray()
    for doc in docs:
        cells, line = csv_line(fast_values(doc))
        digests += row_digest(cells)
        lines.append(line)
    return "".join(lines).encode(), bytes(digests)


def test_a_csv_page_is_what_csv_line_makes_row_by_row() -> None:
    for seed in range(40):
        # Small pools make pages where no cell, or every cell, takes one of the ways.
        pool = random.Random(seed).sample(AWKWARD, 1 + seed % 6)
        docs = docs_of(30, seed, pool)
        digests = bytearray()
        page = CsvWriter(WriterOptions(None, digests)).write(docs)
        assert (page, bytes(digests)) == row_by_row(docs), pool


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
                min_size=1, max_size=8))
def test_a_csv_page_of_any_text_is_what_csv_line_makes(pool: list[str]) -> None:
    docs = docs_of(5, len(pool), pool)
    digests = bytearray()
    page = CsvWriter(WriterOptions(None, digests)).write(docs)
    assert (page, bytes(digests)) == row_by_row(docs)


def xlsxwriter_cells(docs: list[bytes], path: Path) -> None:
    """The rows as xlsxwriter's per-cell API writes them (what the XLSX writer did)."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True,
                                           "strings_to_numbers": False,
                                           "strings_to_formulas": False,
                                           "strings_to_urls": False})
    sheet = book.add_worksheet("events")
    for column, name in enumerate(COLUMNS):
        sheet.write_string(0, column, name)
    for row, doc in enumerate(docs, 1):
        for column, cell in enumerate(fit(c) for c in fast_values(doc)):
            if column == 1:
                sheet.write_number(row, column, int(cell))
            elif cell:
                sheet.write_string(row, column, cell)
    book.close()


def openpyxl_rows(path: Path) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    return rows


def export_xlsx(docs: list[bytes], page: int) -> tuple[bytes, bytes]:
    digests = bytearray()
    writer = XlsxWriter(WriterOptions(None, digests))
    out = [writer.begin()]
    for start in range(0, len(docs), page):
        out.append(writer.write(docs[start:start + page]))
    out.extend(writer.end())
    writer.close()
    return b"".join(out), bytes(digests)


def test_the_sheets_rows_read_as_xlsxwriter_writes_them(tmp_path: Path) -> None:
    docs = docs_of(120, 7)
    data, digests = export_xlsx(docs, 50)
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    ours.write_bytes(data)
    xlsxwriter_cells(docs, theirs)
    assert list(xlsx_rows(ours)) == list(xlsx_rows(theirs))
    assert digests == b"".join(row_digest([fit(c) for c in fast_values(d)]) for d in docs)
    assert openpyxl_rows(ours) == openpyxl_rows(theirs)
    with zipfile.ZipFile(ours) as book:
        assert book.testzip() is None
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:AB121"/>' in sheet
    assert re.findall(r'<row r="(\d+)"', sheet) == [str(n) for n in range(1, 122)]
    assert "_x005F_x0041_" in sheet and "_x0001_" in sheet and "&lt;b&gt;&amp;amp;" in sheet


def test_a_cell_too_long_is_cut_and_an_empty_export_is_a_workbook(tmp_path: Path) -> None:
    rng = random.Random(3)
    big = event(rng, 1, ["x"])
    big["metadata"] = {"blob": "y" * 40_000}
    data, _ = export_xlsx([orjson.dumps(big)], 10)
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data)
    [_, row] = list(xlsx_rows(path))
    assert len(row[26]) == MAX_CELL and row[26].endswith(CUT_MARK)
    empty, digests = export_xlsx([], 10)
    path.write_bytes(empty)
    assert list(xlsx_rows(path)) == [list(COLUMNS)] and digests == b""
    book = openpyxl.load_workbook(io.BytesIO(empty))
    assert book.active is not None and book.active.freeze_panes == "A2"


def test_crc32_of_joined_parts_and_joined_deflate_streams() -> None:
    rng = random.Random(5)
    for _ in range(30):
        a = os.urandom(rng.randrange(0, 3000))
        b = os.urandom(rng.randrange(0, 70_000))
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    head, body, tail = b"<a>" * 100, b"<row/>" * 10_000, b"</a>"
    joined = deflate_part(head, 1) + deflate_part(body, 6) + deflate_whole(tail, 1)
    assert zlib.decompress(joined, -15) == head + body + tail


def test_zip64_end_records_for_many_members() -> None:
    out = io.BytesIO()
    members = []
    packed = deflate_whole(b"x", 1)
    for n in range(70_000):  # more members than a zip's 16-bit count holds
        name = f"m{n}"
        members.append(Member(name, zlib.crc32(b"x"), 1, len(packed), out.tell()))
        out.write(local_header(name, zlib.crc32(b"x"), 1, len(packed)) + packed)
    out.write(central_directory(members, out.tell()))
    with zipfile.ZipFile(out) as book:
        names = book.namelist()
        assert len(names) == 70_000 and book.read("m69999") == b"x"
