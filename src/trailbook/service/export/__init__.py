"""Exports (DESIGN §2): every event a search matches, written as a file (csv, xlsx, json,
ndjson), streamed a page at a time, with a signed manifest. A format is a writer
(``formats.ExportFormat``); the service applies the caller's rights (categories,
personal data), audits the export once and writes its manifest (``manifest.py``)."""

from __future__ import annotations

from trailbook.service.export.formats import FORMATS, ExportFormat, ExportWriter
from trailbook.service.export.service import Export, ExportProgress, ExportService

__all__ = ["FORMATS", "Export", "ExportFormat", "ExportProgress", "ExportService",
           "ExportWriter"]
