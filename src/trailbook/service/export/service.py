"""Exporting a search: the filter as the caller may run it (their categories; personal
data masked and not searchable without the right to see it), every match newest first,
read a page at a time with the keyset cursor (never the whole result in memory), and a
signed manifest written when the last byte has gone (``manifest.py``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import orjson

from trailbook.errors import ErrorDetail, IntegrityFailure, TrailbookError, ValidationFailed
from trailbook.integrity.signing import Signer
from trailbook.model.timefmt import format_us, now_us
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI, RequestContext, SelfAudit, cli_actor
from trailbook.service.access.masking import mask_event
from trailbook.service.access.principal import Principal
from trailbook.service.access.reading import MAX_AUDITED_QUERY, ReadService
from trailbook.service.checkpoints import CheckpointService
from trailbook.service.events import MAX_PAGE, EventService, SearchPage
from trailbook.service.export.chain_follow import ChainFollower
from trailbook.service.export.csv import COLUMNS, with_hash
from trailbook.service.export.formats import (
    FORMATS,
    ExportFormat,
    ExportWriter,
    MadePageWriter,
)
from trailbook.service.export.manifest import (
    ChainSpan,
    ManifestStore,
    ManifestTarget,
    RowLog,
    StoredManifest,
    beside,
    new_export_id,
    write_manifest,
)
from trailbook.service.export.options import WriterOptions, zone_of
from trailbook.service.export.page_pool import MadePage, MadePages, PagePool
from trailbook.service.export.xlsx import MAX_EVENTS, too_many
from trailbook.service.relink import ChainBreak
from trailbook.settings import Settings
from trailbook.store.records import Checkpoint, StoredEvent, Tenant

log = logging.getLogger("trailbook.export")

PAGE = MAX_PAGE  # events read from the store at a time
COUNT_TIMEOUT_MS = 10_000  # counting an .xlsx export's rows before it starts
MAX_COUNT = 100_000_000  # counted for a background job's progress
# Pages a format with a page maker writes alone before a worker process helps: a small
# export does not wait for one to start.
POOL_AFTER_PAGES = 8


@dataclass
class ExportProgress:
    """How far an export has got; read by a progress bar while the chunks are drawn."""

    rows: int = 0
    bytes: int = 0
    sha256: str | None = None  # of the file, once written
    manifest: Path | None = None  # once written
    manifest_error: str | None = None


@dataclass(frozen=True)
class Export:
    """An export under way: its id, what to call the file, and its bytes, made as they
    are read (iterating runs the store reads: do it off the event loop). The manifest
    is written when the iterator is exhausted."""

    id: str
    format: ExportFormat
    filename: str
    chunks: Iterator[bytes]
    progress: ExportProgress = field(default_factory=ExportProgress)


@dataclass(frozen=True)
class _Plan:
    tenant: Tenant
    asked: EventFilter  # as the caller asked (audited)
    scoped: EventFilter | None  # as run: None matches nothing the caller may read
    fmt: ExportFormat
    zone: ZoneInfo | None
    tz: str
    query: str | None
    masked: bool


def document(event: StoredEvent, masked: bool) -> bytes:
    """The event as the API answers it: the stored document plus its hash (spliced, not
    parsed and dumped again), or masked."""
    whole = with_hash(bytes(event.doc), bytes(event.hash))
    return orjson.dumps(mask_event(orjson.loads(whole))) if masked else whole


class ExportService:
    def __init__(self, events: EventService, reads: ReadService, audit: SelfAudit,
                 checkpoints: CheckpointService, signer: Signer, settings: Settings) -> None:
        self.events = events
        self.reads = reads
        self.audit = audit
        self.checkpoints = checkpoints
        self.signer = signer
        self.manifests = ManifestStore(settings.resolved_export_manifest_dir,
                                       settings.export_manifest_ttl_seconds)
        self.max_chain = settings.export_manifest_max_chain
        self.pages = PagePool(settings.export_page_workers)

    def close(self) -> None:
        """Stop the worker process that formats pages, if one was started."""
        self.pages.close()

    @staticmethod
    def format_of(name: str) -> ExportFormat:
        fmt = FORMATS.get(name)
        if fmt is None:
            raise ValidationFailed("unknown export format", [ErrorDetail(
                "format", f"one of: {', '.join(FORMATS)}")])
        return fmt

    def start(self, principal: Principal, flt: EventFilter, format_name: str, *,
              context: RequestContext, query: str | None = None, tz: str | None = None,
              output: Path | None = None, export_id: str | None = None) -> Export:
        """Check and audit an export, and read its first page (so a refusal or a failing
        search is an error answer, not a cut-off file). The events are those stored
        when it starts: what arrives while it runs is left out. The manifest goes
        beside ``output`` (the file the caller writes the export to) or, without it, to
        the manifest folder, where ``manifest`` finds it. A background job gives the
        export its ``export_id`` (the job's) and its ``output`` (the job's file)."""
        principal.require("events.export")
        fmt = self.format_of(format_name)
        zone = zone_of(tz)
        scoped = self.reads.scoped(principal, flt)
        plan = _Plan(principal.tenant, flt, scoped, fmt, zone, tz or "UTC", query,
                     masked=not principal.sees_personal_data)

        def audit(metadata: dict[str, object]) -> None:
            # Exports are audited for API keys too (unlike their searches): a whole
            # result leaving the service is worth a record, and one export is one event.
            self.audit.access(principal, context, "export.run", "export", metadata=metadata)

        return self._start(plan, audit, output, export_id)

    def estimate(self, principal: Principal, flt: EventFilter, cap: int | None) -> int | None:
        """How many events an export of ``flt`` by ``principal`` would hold (up to
        ``cap``; None when not known in time)."""
        scoped = self.reads.scoped(principal, flt)
        if scoped is None:
            return 0
        return self.count(principal.tenant, scoped, MAX_COUNT if cap is None else cap)

    def start_local(self, tenant: Tenant, flt: EventFilter, format_name: str, *,
                    query: str | None = None, tz: str | None = None,
                    output: Path | None = None) -> Export:
        """An export by the command line on the server, which reads every category and
        sees personal data; audited with the CLI as its actor."""
        fmt = self.format_of(format_name)
        zone = zone_of(tz)
        plan = _Plan(tenant, flt, flt, fmt, zone, tz or "UTC", query, masked=False)

        def audit(metadata: dict[str, object]) -> None:
            self.audit.record(tenant, category="access", action="export.run",
                              action_type="export", actor=cli_actor(), context=CLI,
                              metadata=metadata)

        return self._start(plan, audit, output)

    def count(self, tenant: Tenant, flt: EventFilter, cap: int) -> int | None:
        """How many events ``flt`` matches, up to ``cap`` (None: not known in time)."""
        found = self.events.store.count_matches(tenant.id, flt, cap, COUNT_TIMEOUT_MS)
        return None if found is None else found.count

    @staticmethod
    def filename(tenant: Tenant, fmt: ExportFormat) -> str:
        """What to call an export's file: trailbook-TENANT-YYYYMMDDTHHMMSSZ.EXT."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        # Tenant names are [a-z0-9_.-]: safe in a file name and a header as they are.
        return f"trailbook-{tenant.name}-{stamp}.{fmt.extension}"

    def manifest(self, principal: Principal, export_id: str) -> StoredManifest:
        """The manifest of an export the caller's tenant ran through the API."""
        principal.require("events.export")
        return self.manifests.find(principal.tenant.id, export_id)

    def _start(self, plan: _Plan, audit: Callable[[dict[str, object]], None],
               output: Path | None, export_id: str | None = None) -> Export:
        tenant, scoped, fmt = plan.tenant, plan.scoped, plan.fmt
        if fmt.name == "xlsx" and scoped is not None:
            counted = self.count(tenant, scoped, MAX_EVENTS + 1)
            if counted is not None and counted > MAX_EVENTS:
                raise too_many(counted)
        head = self.events.store.chain_head(tenant.id)
        last_seq = head.seq if head else 0
        first = (SearchPage([], None) if scoped is None else
                 self.events.search(tenant, scoped, None, PAGE))
        export_id = export_id or new_export_id()
        metadata: dict[str, object] = {"filter": plan.asked.describe(), "format": fmt.name,
                                       "export_id": export_id}
        if plan.query:
            metadata["query"] = plan.query[:MAX_AUDITED_QUERY]
        if plan.zone is not None:
            metadata["tz"] = plan.tz
        audit(metadata)
        filename = self.filename(tenant, fmt)
        target = (beside(output) if output is not None else
                  self.manifests.target(tenant.id, export_id, filename))
        target.begin()
        header: dict[str, Any] = {
            "export_id": export_id, "tenant": tenant.name, "format": fmt.name,
            "tz": plan.tz if fmt.zoned else "UTC",
            "filter": (scoped or plan.asked).describe(), "query": plan.query,
            "masked": plan.masked, "snapshot_seq": last_seq,
        }
        if fmt.tabular:
            header["columns"] = list(COLUMNS)
        progress = ExportProgress()
        chunks = self._chunks(plan, first, last_seq, header,
                              output.name if output is not None and export_id is None
                              else filename, target, progress)
        return Export(export_id, fmt, filename, chunks, progress)

    def _chunks(self, plan: _Plan, page: SearchPage, last_seq: int, header: dict[str, Any],
                filename: str, target: ManifestTarget,
                progress: ExportProgress) -> Iterator[bytes]:
        tenant, flt, masked = plan.tenant, plan.scoped, plan.masked
        # Rows that are cells, or masked documents, cannot be re-linked to their chain
        # hash: the manifest keeps a digest of each.
        digests = bytearray() if plan.fmt.tabular or masked else None
        zone = plan.zone if plan.fmt.zoned else None
        writer: ExportWriter = plan.fmt.writer(WriterOptions(zone, digests))
        maker = plan.fmt.page_maker
        made = (MadePages(maker, zone.key if zone is not None else None, digests is not None)
                if maker is not None and isinstance(writer, MadePageWriter) else None)
        rows = RowLog(digests=digests is not None)
        follower = ChainFollower(self.events.store, tenant.id, self.max_chain)
        file_digest = sha256()
        finished = False
        pages = 0
        try:
            def out(chunk: bytes) -> bytes:
                file_digest.update(chunk)
                progress.bytes += len(chunk)
                return chunk

            def taken(made_page: MadePage) -> bytes:
                assert isinstance(writer, MadePageWriter)
                chunk = writer.write_made(made_page.made, len(made_page.seqs))
                rows.add(made_page.seqs, made_page.digests)
                progress.rows += len(made_page.seqs)
                return out(chunk) if chunk else b""

            if chunk := writer.begin():
                yield out(chunk)
            while flt is not None:
                events = [e for e in page.events if e.seq <= last_seq]
                if events:
                    seqs = [e.seq for e in events]
                    if made is not None:
                        pages += 1
                        if pages == POOL_AFTER_PAGES:  # a large export: a worker helps
                            made.use(self.pages)
                        # the hashes are spliced in by whoever makes the page
                        docs, hashes = (([document(e, masked) for e in events], None)
                                        if masked else ([bytes(e.doc) for e in events],
                                                        [bytes(e.hash) for e in events]))
                        for made_page in made.add(seqs, docs, hashes):
                            if chunk := taken(made_page):
                                yield chunk
                    else:
                        chunk = writer.write([document(e, masked) for e in events])
                        rows.add(seqs, digests or b"")
                        if digests is not None:
                            digests.clear()
                        progress.rows += len(events)
                        if chunk:
                            yield out(chunk)
                    follower.reach(min(seqs) - 1, max(seqs),
                                   {e.seq: (e.doc, e.hash) for e in events})
                if page.next_cursor is None:
                    break
                page = self.events.search(tenant, flt, page.next_cursor, PAGE)
            if made is not None:
                for made_page in made.finish():
                    if chunk := taken(made_page):
                        yield chunk
            for chunk in writer.end():
                yield out(chunk)
            finished = True
        finally:
            if made is not None:
                made.close()
            writer.close()
            if not finished:
                follower.close()
                rows.close()
                target.abandon()
        progress.sha256 = file_digest.hexdigest()
        header["file"] = {"name": filename, "sha256": progress.sha256, "bytes": progress.bytes}
        try:
            self._write_manifest(tenant, header, rows, target, follower)
            progress.manifest = target.final
        except TrailbookError as exc:
            log.error("export %s of tenant %s: no manifest: %s", header["export_id"],
                      tenant.name, exc.one_line())
            progress.manifest_error = exc.one_line()
            target.fail(exc.one_line())
        finally:
            follower.close()
            rows.close()

    def _write_manifest(self, tenant: Tenant, header: dict[str, Any], rows: RowLog,
                        target: ManifestTarget, follower: ChainFollower) -> None:
        header["created_at"] = format_us(now_us())
        chain: ChainSpan | None = None
        checkpoints: list[Checkpoint] = []
        if rows.min_seq is not None and rows.max_seq is not None:
            cover = self.checkpoints.cover(tenant, rows.max_seq)
            from_seq = rows.min_seq - 1
            to_seq = cover.seq if cover is not None else rows.max_seq
            if cover is None:
                header["chain_note"] = (f"no signed checkpoint covers seq {rows.max_seq} "
                                        "yet: the hashes are not tied to one")
            span = to_seq - from_seq + 1
            if span > self.max_chain:
                header["chain_note"] = (
                    f"the chain from seq {from_seq} to the checkpoint at seq {to_seq} holds "
                    f"{span:,} hashes, more than this server puts in a manifest "
                    f"({self.max_chain:,}, export_manifest_max_chain): left out; the rows "
                    "are checked against the file's hash and the listed seqs only")
            else:
                checkpoints = [c for c in self.events.store.list_checkpoints(tenant.id)
                               if from_seq <= c.seq <= to_seq]
                chain = ChainSpan(from_seq, to_seq, lambda: self._relinked(
                    tenant, follower, from_seq, to_seq, checkpoints))

        def make(out: IO[bytes]) -> None:
            write_manifest(out, header, rows, chain, checkpoints, self.signer)

        target.write(make)

    def _relinked(self, tenant: Tenant, follower: ChainFollower, from_seq: int, to_seq: int,
                  checkpoints: list[Checkpoint]) -> Iterator[bytes]:
        """The stored chain hashes of seqs ``from_seq`` … ``to_seq``, each re-linked
        from the one before (mostly while the rows were written: ``chain_follow.py``)
        and checked against the checkpoints: the service signs no manifest for a chain
        that does not hold together."""
        for checkpoint in checkpoints:
            if self.signer.checkpoint_signed(tenant.name, checkpoint) is False:
                raise _damaged(checkpoint.seq, "the checkpoint's signature does not verify")
        try:
            follower.finish(from_seq, to_seq)
        except ChainBreak as exc:
            raise _damaged(exc.seq, exc.why) from None
        for checkpoint in checkpoints:
            if follower.hash_at(checkpoint.seq) != bytes(checkpoint.hash):
                raise _damaged(checkpoint.seq,
                               "the chain differs from the signed checkpoint there")
        yield from follower.hashes(from_seq, to_seq)


def _damaged(seq: int, why: str) -> IntegrityFailure:
    return IntegrityFailure("the stored chain does not hold together; no manifest signed",
                            [ErrorDetail("seq", f"seq {seq}: {why}; run 'trailbook verify'")])
