"""The export formats. A format names its file extension and media type and makes a
fresh writer for each export; the writer turns pages of event documents into bytes.
A new format (xlsx, json, ndjson …) is one writer class and one entry in ``FORMATS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from trailbook.service.export.csv import CsvWriter


class ExportWriter(Protocol):
    """Writes one export. Called in order: ``begin`` once, ``write`` for each page of
    events (documents as the API shows them: with ``hash``, masked when the caller may
    not see personal data), ``end`` once. Each returns the bytes to send next."""

    def begin(self) -> bytes: ...
    def write(self, events: list[dict[str, Any]]) -> bytes: ...
    def end(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str  # as the audit record and the URL name it
    extension: str
    media_type: str
    writer: Callable[[], ExportWriter]


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "csv", "text/csv; charset=utf-8", CsvWriter),
}
