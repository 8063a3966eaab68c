"""Exports (DESIGN §2): every event a search matches, written as a file, streamed a
page at a time. A format is a writer (``formats.ExportFormat``); the service applies
the caller's rights (categories, personal data) and audits the export once."""

from __future__ import annotations

from trailbook.service.export.formats import FORMATS, ExportFormat, ExportWriter
from trailbook.service.export.service import Export, ExportService

__all__ = ["FORMATS", "Export", "ExportFormat", "ExportService", "ExportWriter"]
