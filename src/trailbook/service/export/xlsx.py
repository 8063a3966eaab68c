"""Events as an Excel workbook (.xlsx): one sheet, a header row and the CSV's columns,
written by xlsxwriter in constant-memory mode (each row goes to a temporary file as it
is written, so memory stays flat however many rows).

Differences from the CSV: ``seq`` is a number; every other cell is a text cell, which
spreadsheets never run as a formula, so no cell needs the CSV's leading ``'``; a cell
holds at most 32,767 characters (Excel's limit), so a longer one (only
``other_targets``, ``changes`` or ``metadata`` can be: the CSV and JSON exports keep
them whole) is cut and ends with ``CUT_MARK``. A sheet holds at most 1,048,576 rows:
the header and 1,048,575 events.

How it is written: xlsxwriter makes the workbook around the rows (styles, column
widths, the frozen header row, content types and the rest), with the header row
alone; the events' rows are this module's own, written the way xlsxwriter writes
them in constant-memory mode: inline-string cells (``&``, ``<`` and ``>`` escaped as
XML does, the control characters XML 1.0 cannot carry and U+FFFE/U+FFFF as OOXML's
``_xHHHH_``, and a literal ``_xHHHH_`` as ``_x005F_xHHHH_``; whitespace kept,
``xml:space="preserve"``), ``seq`` a number cell, empty cells left out, and the
sheet's ``<dimension>`` the whole range. The rows are deflated (by a thread of their
own, as they are made) into a temporary file, so memory stays flat however many rows;
the sheet's start, which holds the dimension, is deflated at the end and joined to
them, and the workbook goes out as a zip file (zip64 where it has to). Its bytes come
out at the end, not row by row."""

from __future__ import annotations

import contextlib
import io
import queue
import re
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

import xlsxwriter

from trailbook.errors import ErrorDetail, ValidationFailed
from trailbook.integrity.export_check import row_digest
from trailbook.service.export.csv import (
    COLUMNS,
    RS,
    SEQ_COLUMN,
    US,
    fast_values,
    page_bytes,
    page_digests,
    with_hashes,
)
from trailbook.service.export.options import WriterOptions, zone_named
from trailbook.service.export.xlsx_zip import (
    Member,
    central_directory,
    crc32_combine,
    deflate_part,
    deflate_whole,
    local_header,
)

MAX_ROWS = 1_048_576  # per sheet, header included
MAX_EVENTS = MAX_ROWS - 1
MAX_CELL = 32_767
CUT_MARK = "…[cut: longer than an Excel cell holds]"
CHUNK = 1 << 20
# zlib's level for the sheet: 1 makes a file ~15% larger than 6 in a fraction of the
# time (docs/benchmarks.md).
LEVEL = 1
SHEET = "xl/worksheets/sheet1.xml"
_AHEAD = 4  # pages of rows waiting for the deflating thread

_WIDTHS = {"id": 38, "occurred_at": 28, "received_at": 28, "action": 24,
           "description": 48, "hash": 20, "metadata": 40, "changes": 30}


def too_many(count: int) -> ValidationFailed:
    return ValidationFailed("too many events for one Excel sheet", [ErrorDetail(
        "format", f"an .xlsx sheet holds at most {MAX_EVENTS:,} events (this search "
        f"matches {count:,}{' or more' if count > MAX_EVENTS else ''}): narrow the "
        "search, or export csv or ndjson")])


def fit(cell: str) -> str:
    """``cell`` as an Excel cell can hold it."""
    if len(cell) <= MAX_CELL:
        return cell
    return cell[: MAX_CELL - len(CUT_MARK)] + CUT_MARK



# OOXML's escapes (as xlsxwriter writes them): a literal _xHHHH_ gets its underscore
# escaped; control characters other than tab and line feed, and U+FFFE and U+FFFF,
# become _xHHHH_. On a page's text the separators (US, RS) are left alone.
_LITERAL = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL_IN_CELL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_CONTROL_IN_PAGE = re.compile("[\x00-\x08\x0b-\x1d\ufffe\uffff]")
# The bytes a page's UTF-8 text holds only if it has a character _CONTROL_IN_PAGE
# escapes (U+FFFE and U+FFFF start with EF; bytes.translate deletes all the others).
_NOT_CONTROL_BYTE = bytes(b for b in range(256) if not (b <= 0x08 or 0x0B <= b <= 0x1D
                                                      or b == 0xEF))


def _hex_escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def escape(text: str, control: re.Pattern[str] | None = _CONTROL_IN_CELL) -> str:
    """``text`` as the content of an inline string's ``<t>`` element (``control``: the
    characters to write as _xHHHH_; None when ``text`` has none)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "_x" in text:
        text = _LITERAL.sub(r"_x005F\1", text)
    return text if control is None else control.sub(_hex_escape, text)


def _column_name(column: int) -> str:
    """A, B, … Z, AA, AB, … for columns 0, 1, …"""
    name = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


_REFS = [_column_name(column) for column in range(len(COLUMNS))]


def _row_template(present: tuple[bool, ...]) -> str:
    """The XML of a row whose cells ``present`` are not empty, for ``str.format`` with
    the row's number and then its cells (escaped)."""
    parts = ['<row r="{0}">']
    for column, there in enumerate(present):
        if not there:
            continue
        ref = _REFS[column] + "{0}"
        if column == SEQ_COLUMN:
            parts.append(f'<c r="{ref}"><v>{{{column + 1}}}</v></c>')
        else:
            parts.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                         f"{{{column + 1}}}</t></is></c>")
    parts.append("</row>")
    return "".join(parts)


def _workbook() -> tuple[list[tuple[str, bytes]], str, str]:
    """The workbook around the rows, as xlsxwriter writes it with the header row alone:
    its members in order (the sheet's data empty), and the sheet's XML up to where the
    events' rows go and from there on."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {
        "constant_memory": True, "strings_to_numbers": False,
        "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("events")
    bold = book.add_format({"bold": True})
    for column, name in enumerate(COLUMNS):
        sheet.set_column(column, column, _WIDTHS.get(name, 14))
    sheet.freeze_panes(1, 0)
    for column, name in enumerate(COLUMNS):
        sheet.write_string(0, column, name, bold)
    book.close()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as made:
        members = [(name, made.read(name)) for name in made.namelist()]
    xml = dict(members)[SHEET].decode()
    cut = xml.index("</sheetData>")
    return [(n, b"" if n == SHEET else d) for n, d in members], xml[:cut], xml[cut:]


class _Deflater:
    """Deflates what it is given into ``out`` on a thread of its own (zlib and the file
    let go of the GIL), keeping the CRC-32 and the sizes; at most ``_AHEAD`` pieces
    wait."""

    def __init__(self, out: IO[bytes], level: int) -> None:
        self._out = out
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._queue: queue.Queue[bytes | None] = queue.Queue(_AHEAD)
        self.crc = 0
        self.size = 0
        self.compressed = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        compressor, out = self._compressor, self._out
        try:
            while (data := self._queue.get()) is not None:
                self.crc = zlib.crc32(data, self.crc)
                self.size += len(data)
                packed = compressor.compress(data)
                self.compressed += len(packed)
                out.write(packed)
            packed = compressor.flush(zlib.Z_SYNC_FLUSH)  # more DEFLATE data follows
            self.compressed += len(packed)
            out.write(packed)
        except BaseException as exc:  # handed to the writer's thread
            self._error = exc
            while self._queue.get() is not None:  # let a waiting put() through
                pass

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def finish(self) -> None:
        """Wait for everything given to be deflated."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


def sheet_page(docs: list[bytes], options: WriterOptions, written: int,
               templates: dict[tuple[bool, ...], str]) -> tuple[bytes, bytes]:
    """The sheet XML of the events ``docs``, which follow ``written`` events already in
    the sheet (their rows are numbered from ``written + 2``: row 1 is the header), and
    the digests of their rows (also appended to ``options.digests``). ``templates``
    caches a row's XML for each pattern of empty cells."""
    if written + len(docs) > MAX_EVENTS:
        raise too_many(written + len(docs))
    digests = options.digests
    mark = len(digests) if digests is not None else 0
    rows = []
    for doc in docs:
        row = US.join(fast_values(doc, options))
        if len(row) > MAX_CELL:  # a cell may be too long
            row = US.join([fit(cell) for cell in fast_values(doc, options)])
        rows.append(row)
    text = page_bytes(rows)
    if text is None:  # a cell holds US or RS: cell by cell
        escaped = []
        for doc in docs:
            cells = [fit(cell) for cell in fast_values(doc, options)]
            if digests is not None:
                digests += row_digest(cells)
            escaped.append(US.join([escape(cell) for cell in cells]))
        xml = _xml(escaped, written, templates)
    else:
        if digests is not None:
            page_digests(rows, text, digests)
        page = RS.join(rows)
        control = _CONTROL_IN_PAGE if text.translate(None, _NOT_CONTROL_BYTE) else None
        xml = _xml(escape(page, control).split(RS), written, templates)
    return xml.encode(), bytes(digests[mark:]) if digests is not None else b""


def _xml(rows: list[str], written: int, templates: dict[tuple[bool, ...], str]) -> str:
    """The rows' XML; each row its cells, escaped, joined by US."""
    number = written + 1  # the sheet's row before the first of these
    out = []
    for row in rows:
        number += 1
        cells = row.split(US)
        present = tuple(map(bool, cells))
        template = templates.get(present)
        if template is None:
            template = templates[present] = _row_template(present)
        out.append(template.format(number, *cells))
    return "".join(out)


_WORKER_TEMPLATES: dict[tuple[bool, ...], str] = {}


def xlsx_page(docs: list[bytes], hashes: list[bytes] | None, zone: str | None, written: int,
              digests: bool) -> tuple[bytes, bytes]:
    """``sheet_page`` from plain values, as a worker process runs it (``hashes``: see
    ``csv.with_hashes``)."""
    options = WriterOptions(zone_named(zone), bytearray() if digests else None)
    return sheet_page(with_hashes(docs, hashes), options, written, _WORKER_TEMPLATES)


class XlsxWriter:
    def __init__(self, options: WriterOptions) -> None:
        self._options = options
        self._body: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close)
        self._deflater: _Deflater | None = None
        self._row = 0
        self._templates: dict[tuple[bool, ...], str] = {}

    def begin(self) -> bytes:
        self._members, self._head, self._tail = _workbook()
        self._deflater = _Deflater(self._body, LEVEL)
        return b""

    def write(self, docs: list[bytes]) -> bytes:
        if not docs:
            return b""
        made, _ = sheet_page(docs, self._options, self._row, self._templates)
        return self.write_made(made, len(docs))

    def write_made(self, made: bytes, rows: int) -> bytes:
        """Take the XML of the next ``rows`` rows, made by ``sheet_page`` (here or in a
        worker process, from this writer's row count when they were handed out)."""
        if self._row + rows > MAX_EVENTS:
            raise too_many(self._row + rows)
        assert self._deflater is not None, "begin() first"
        self._deflater.write(made)
        self._row += rows
        return b""

    def end(self) -> Iterator[bytes]:
        assert self._deflater is not None, "begin() first"
        self._deflater.finish()
        body = self._deflater
        last = _REFS[-1] + str(self._row + 1)
        head = self._head.replace('<dimension ref="A1:' + _REFS[-1] + '1"/>',
                                  f'<dimension ref="A1:{last}"/>', 1).encode()
        tail = self._tail.encode()
        members: list[Member] = []
        offset = 0
        for name, data in self._members:
            if name == SHEET:
                start, finish = deflate_part(head, LEVEL), deflate_whole(tail, LEVEL)
                crc = crc32_combine(crc32_combine(zlib.crc32(head), body.crc, body.size),
                                    zlib.crc32(tail), len(tail))
                size = len(head) + body.size + len(tail)
                compressed = len(start) + body.compressed + len(finish)
                header = local_header(name, crc, size, compressed)
                yield header + start
                self._body.seek(0)
                while chunk := self._body.read(CHUNK):
                    yield chunk
                yield finish
            else:
                packed = deflate_whole(data, LEVEL)
                crc, size, compressed = zlib.crc32(data), len(data), len(packed)
                header = local_header(name, crc, size, compressed)
                yield header + packed
            members.append(Member(name, crc, size, compressed, offset))
            offset += len(header) + compressed
        yield central_directory(members, offset)
        self.close()

    def close(self) -> None:
        """Let go of the thread and the temporary file (also an export given up half
        way)."""
        if self._deflater is not None:
            with contextlib.suppress(Exception):  # closing: the export failed already
                self._deflater.finish()
        self._body.close()

