"""Events as an Excel workbook (.xlsx): one sheet, a header row and the CSV's columns,
written by xlsxwriter in constant-memory mode (each row goes to a temporary file as it
is written, so memory stays flat however many rows).

Differences from the CSV: ``seq`` is a number; every other cell is a text cell, which
spreadsheets never run as a formula, so no cell needs the CSV's leading ``'``; a cell
holds at most 32,767 characters (Excel's limit), so a longer one (only
``other_targets``, ``changes`` or ``metadata`` can be: the CSV and JSON exports keep
them whole) is cut and ends with ``CUT_MARK``. A sheet holds at most 1,048,576 rows:
the header and 1,048,575 events.

The workbook is a zip file that xlsxwriter writes when it is closed: its bytes come
out at the end, not row by row."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

import xlsxwriter

from trailbook.errors import ErrorDetail, ValidationFailed
from trailbook.integrity.export_check import row_digest
from trailbook.service.export.csv import COLUMNS, SEQ_COLUMN, fast_values
from trailbook.service.export.options import WriterOptions

MAX_ROWS = 1_048_576  # per sheet, header included
MAX_EVENTS = MAX_ROWS - 1
MAX_CELL = 32_767
CUT_MARK = "…[cut: longer than an Excel cell holds]"
CHUNK = 1 << 20

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


class XlsxWriter:
    def __init__(self, options: WriterOptions) -> None:
        self._options = options
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in end)
        self._book: Any = xlsxwriter.Workbook(self._out, {
            "constant_memory": True, "strings_to_numbers": False,
            "strings_to_formulas": False, "strings_to_urls": False})
        self._sheet: Any = self._book.add_worksheet("events")
        self._row = 0

    def begin(self) -> bytes:
        sheet = self._sheet
        bold = self._book.add_format({"bold": True})
        for column, name in enumerate(COLUMNS):
            sheet.set_column(column, column, _WIDTHS.get(name, 14))
        sheet.freeze_panes(1, 0)
        for column, name in enumerate(COLUMNS):
            sheet.write_string(0, column, name, bold)
        return b""

    def write(self, docs: list[bytes]) -> bytes:
        if self._row + len(docs) > MAX_EVENTS:
            raise too_many(self._row + len(docs))
        options = self._options
        digests = options.digests
        write_string = self._sheet.write_string
        write_number = self._sheet.write_number
        row = self._row
        for doc in docs:
            row += 1
            cells = [fit(v) for v in fast_values(doc, options)]
            if digests is not None:
                digests += row_digest(cells)
            for column, cell in enumerate(cells):
                if column == SEQ_COLUMN:
                    write_number(row, column, int(cell))
                elif cell:
                    write_string(row, column, cell)
        self._row = row
        return b""

    def end(self) -> Iterator[bytes]:
        try:
            self._book.close()
            self._out.seek(0)
            while chunk := self._out.read(CHUNK):
                yield chunk
        finally:
            self._out.close()

    def close(self) -> None:
        """Let go of the temporary files (an export given up half way)."""
        self._out.close()
