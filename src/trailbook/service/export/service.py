"""Exporting a search: the filter as the caller may run it (their categories; personal
data masked and not searchable without the right to see it), every match newest first,
read a page at a time with the keyset cursor (never the whole result in memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from trailbook.errors import ErrorDetail, ValidationFailed
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import RequestContext, SelfAudit
from trailbook.service.access.masking import mask_event
from trailbook.service.access.principal import Principal
from trailbook.service.access.reading import MAX_AUDITED_QUERY, ReadService
from trailbook.service.events import MAX_PAGE, EventService, SearchPage
from trailbook.service.export.formats import FORMATS, ExportFormat
from trailbook.store.records import StoredEvent, Tenant

PAGE = MAX_PAGE  # events read from the store at a time


@dataclass(frozen=True)
class Export:
    """An export under way: what to call the file, and its bytes, made as they are
    read (iterating runs the store reads: do it off the event loop)."""

    format: ExportFormat
    filename: str
    chunks: Iterator[bytes]


def _document(event: StoredEvent, masked: bool) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(event.doc)
    doc["hash"] = bytes(event.hash).hex()
    return mask_event(doc) if masked else doc


class ExportService:
    def __init__(self, events: EventService, reads: ReadService, audit: SelfAudit) -> None:
        self.events = events
        self.reads = reads
        self.audit = audit

    def start(self, principal: Principal, flt: EventFilter, format_name: str, *,
              context: RequestContext, query: str | None = None) -> Export:
        """Check and audit an export, and read its first page (so a refusal or a failing
        search is an error answer, not a cut-off file). The events are those stored
        when it starts: what arrives while it runs is left out."""
        principal.require("events.export")
        fmt = FORMATS.get(format_name)
        if fmt is None:
            raise ValidationFailed("unknown export format", [ErrorDetail(
                "format", f"one of: {', '.join(FORMATS)}")])
        scoped = self.reads.scoped(principal, flt)
        tenant = principal.tenant
        head = self.events.store.chain_head(tenant.id)
        last_seq = head.seq if head else 0
        first = (SearchPage([], None) if scoped is None else
                 self.events.search(tenant, scoped, None, PAGE))
        # Exports are audited for API keys too (unlike their searches): a whole result
        # leaving the service is worth a record, and one export is one event.
        metadata: dict[str, object] = {"filter": flt.describe(), "format": fmt.name}
        if query:
            metadata["query"] = query[:MAX_AUDITED_QUERY]
        self.audit.access(principal, context, "export.run", "export", metadata=metadata)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        # Tenant names are [a-z0-9_.-]: safe in a file name and a header as they are.
        filename = f"trailbook-{tenant.name}-{stamp}.{fmt.extension}"
        chunks = self._chunks(tenant, scoped, first, last_seq, fmt,
                              masked=not principal.sees_personal_data)
        return Export(fmt, filename, chunks)

    def _chunks(self, tenant: Tenant, flt: EventFilter | None, page: SearchPage,
                last_seq: int, fmt: ExportFormat, *, masked: bool) -> Iterator[bytes]:
        writer = fmt.writer()
        yield writer.begin()
        while flt is not None:
            docs = [_document(e, masked) for e in page.events if e.seq <= last_seq]
            if docs:
                yield writer.write(docs)
            if page.next_cursor is None:
                break
            page = self.events.search(tenant, flt, page.next_cursor, PAGE)
        yield writer.end()
