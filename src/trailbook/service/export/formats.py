"""The export formats. A format names its file extension and media type and makes a
fresh writer for each export; the writer turns pages of event documents into bytes.
A new format is one writer class and one entry in ``FORMATS``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from trailbook.service.export.csv import CsvWriter, csv_made
from trailbook.service.export.jsonl import JsonWriter, NdjsonWriter
from trailbook.service.export.options import WriterOptions
from trailbook.service.export.page_pool import PageMaker
from trailbook.service.export.xlsx import XlsxWriter, xlsx_page


class ExportWriter(Protocol):
    """Writes one export. Called in order: ``begin`` once, ``write`` for each page of
    events, ``end`` once; ``close`` at the very end, also when the export is given up
    half way. A page is the events' documents as the API answers them (JSON: the stored
    document plus ``hash``; masked when the caller may not see personal data). Each call
    gives the bytes to send next."""

    def begin(self) -> bytes: ...
    def write(self, docs: list[bytes]) -> bytes: ...
    def end(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


@runtime_checkable
class MadePageWriter(ExportWriter, Protocol):
    """A writer that also takes pages its format's page maker made elsewhere."""

    def write_made(self, made: bytes, rows: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str  # as the audit record and the URL name it
    extension: str
    media_type: str
    writer: Callable[[WriterOptions], ExportWriter]
    # The rows are cells (csv, xlsx), not documents that re-link to their chain hash:
    # the manifest keeps a digest of each row.
    tabular: bool
    # Its cells show times in the chosen time zone (the JSON formats keep UTC).
    zoned: bool
    # Formats a page apart from the writer, in a worker process (``page_pool.py``):
    # for formats whose rows cost much more to make than to read.
    page_maker: PageMaker | None = None


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "csv", "text/csv; charset=utf-8", CsvWriter, True, True,
                        csv_made),
    "xlsx": ExportFormat(
        "xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        XlsxWriter, True, True, xlsx_page),
    "json": ExportFormat("json", "json", "application/json", JsonWriter, False, False),
    "ndjson": ExportFormat("ndjson", "ndjson", "application/x-ndjson", NdjsonWriter, False,
                           False),
}
