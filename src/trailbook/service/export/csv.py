"""Events as CSV (RFC 4180: comma-separated, every field quoted, CRLF line ends),
UTF-8 with a byte order mark so that Excel reads it as UTF-8, one event per row after a
header row.

Nested values are flattened: the actor, the first target and the source get columns
of their own; the other targets, ``changes`` and ``metadata`` are JSON in one cell
(empty when there are none). ``occurred_at`` and ``received_at`` are written in the
export's time zone (ISO 8601 with its offset; ``Z`` for UTC, as stored).

Formula injection: spreadsheet programs run a cell that starts with ``=``, ``+``,
``-`` or ``@`` (and some a tab or carriage return before one) as a formula, so an
event's text could make the reader's spreadsheet compute or fetch something. Every
such cell is written with a leading ``'``, which spreadsheets show as text; a reader
that parses the file as data should drop a leading ``'`` before those characters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import msgspec
import orjson

from trailbook.integrity.export_check import ROW_DIGEST_BYTES, row_digest
from trailbook.service.export.options import WriterOptions, local_time, zone_named

COLUMNS: tuple[str, ...] = (
    "id", "seq", "occurred_at", "received_at", "category", "action", "action_type",
    "severity", "result", "reason", "actor_id", "actor_name", "actor_email", "actor_type",
    "target_type", "target_id", "target_name", "other_targets", "scope", "ip", "user_agent",
    "country", "request_id", "session_id", "description", "changes", "metadata", "hash",
)
SEQ_COLUMN = COLUMNS.index("seq")
HASH_COLUMN = COLUMNS.index("hash")
ID_COLUMN = COLUMNS.index("id")

BOM = "\ufeff".encode()

# The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(cell: str) -> str:
    """``cell`` made safe to open in a spreadsheet (see the module's notes)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _json(value: Any) -> str:
    return orjson.dumps(value).decode() if value else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def values(event: dict[str, Any], options: WriterOptions | None = None) -> list[str]:
    """One event document (with ``hash``) as the cells of ``COLUMNS``, as text, before
    any format's own treatment (the CSV guard)."""
    actor = event.get("actor") or {}
    targets = event.get("targets") or []
    first = targets[0] if targets else {}
    source = event.get("source") or {}
    occurred = event.get("occurred_at")
    received = event.get("received_at")
    zone = options.zone if options is not None else None
    if zone is not None:
        occurred = local_time(occurred, zone) if occurred else occurred
        received = local_time(received, zone) if received else received
    cells = (
        event.get("id"), event.get("seq"), occurred, received, event.get("category"),
        event.get("action"), event.get("action_type"), event.get("severity"),
        event.get("result"), event.get("reason"), actor.get("id"), actor.get("name"),
        actor.get("email"), actor.get("type"), first.get("type"), first.get("id"),
        first.get("name"), _json(targets[1:]), event.get("scope"), source.get("ip"),
        source.get("user_agent"), source.get("country"), event.get("request_id"),
        event.get("session_id"), event.get("description"), _json(event.get("changes")),
        _json(event.get("metadata")), event.get("hash"),
    )
    return [_text(v) for v in cells]


def row(event: dict[str, Any], options: WriterOptions | None = None) -> list[str]:
    """One event document (with ``hash``) as the cells of a CSV row."""
    return [guard(v) for v in values(event, options)]


# The fast way from a document's bytes to its cells: msgspec decodes only the fields
# the columns need, and hands the JSON cells over as the document's own bytes (its
# compact JSON, as ``_json`` writes them) instead of parsing and dumping them again.
class _Actor(msgspec.Struct, gc=False):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    type: str | None = None


class _Target(msgspec.Struct, gc=False):
    id: str | None = None
    name: str | None = None
    type: str | None = None


class _Source(msgspec.Struct, gc=False):
    ip: str | None = None
    user_agent: str | None = None
    country: str | None = None


_NONE = msgspec.Raw(b"null")


class _Event(msgspec.Struct, gc=False):
    id: str | None = None
    seq: int | None = None
    occurred_at: str | None = None
    received_at: str | None = None
    category: str | None = None
    action: str | None = None
    action_type: str | None = None
    severity: str | None = None
    result: str | None = None
    reason: str | None = None
    actor: _Actor | None = None
    targets: list[msgspec.Raw] = []
    scope: str | None = None
    source: _Source | None = None
    request_id: str | None = None
    session_id: str | None = None
    description: str | None = None
    changes: msgspec.Raw = _NONE
    metadata: msgspec.Raw = _NONE
    hash: str | None = None


_EVENT = msgspec.json.Decoder(_Event)
_TARGET = msgspec.json.Decoder(_Target)
_NO_ACTOR = _Actor()
_NO_TARGET = _Target()
_NO_SOURCE = _Source()
_EMPTY_JSON = (b"null", b"[]", b"{}", b"")
# The start of a cell that needs the guard, in the cells each led by US (0x1f) (a US
# inside a cell can only make a row take the exact way needlessly).
_DANGER = re.compile("\x1f[" + re.escape("".join(FORMULA_STARTS)) + "]")


def _raw_json(raw: msgspec.Raw) -> str:
    data = bytes(raw)
    return "" if data in _EMPTY_JSON else data.decode()


def fast_values(doc: bytes, options: WriterOptions | None = None) -> list[str]:
    """``values`` of a document given as JSON bytes (the same cells, faster)."""
    try:
        e = _EVENT.decode(doc)
        targets = e.targets
        first = _TARGET.decode(targets[0]) if targets else _NO_TARGET
    except msgspec.ValidationError:  # not the shape the columns expect: the slow way
        return values(orjson.loads(doc), options)
    actor = e.actor or _NO_ACTOR
    source = e.source or _NO_SOURCE
    occurred, received = e.occurred_at, e.received_at
    zone = options.zone if options is not None else None
    if zone is not None:
        occurred = local_time(occurred, zone) if occurred else occurred
        received = local_time(received, zone) if received else received
    others = b"[" + b",".join(bytes(t) for t in targets[1:]) + b"]" if len(targets) > 1 else b""
    return [
        e.id or "", "" if e.seq is None else str(e.seq), occurred or "", received or "",
        e.category or "", e.action or "", e.action_type or "", e.severity or "",
        e.result or "", e.reason or "", actor.id or "", actor.name or "", actor.email or "",
        actor.type or "", first.type or "", first.id or "", first.name or "",
        others.decode(), e.scope or "", source.ip or "", source.user_agent or "",
        source.country or "", e.request_id or "", e.session_id or "", e.description or "",
        _raw_json(e.changes), _raw_json(e.metadata), e.hash or "",
    ]


def csv_line(cells: list[str]) -> tuple[list[str], str]:
    """The cells as the CSV row holds them (guarded), and the row: every field quoted
    (RFC 4180: a quote inside doubled), CRLF at the end. Quoting every field lets the
    row be made by two replacements over the whole row rather than a look at each cell.
    The guard, too, is looked for once over the row (most rows need none)."""
    joined = "\x1f".join(cells)
    if _DANGER.search("\x1f" + joined) is not None:
        cells = [guard(c) for c in cells]
        joined = "\x1f".join(cells)
    if joined.count("\x1f") != len(cells) - 1:  # a cell holds a US itself
        return cells, '"' + '","'.join(c.replace('"', '""') for c in cells) + '"\r\n'
    return cells, '"' + joined.replace('"', '""').replace("\x1f", '","') + '"\r\n'


# A page of rows at a time (what ``CsvWriter.write`` and the XLSX writer do). Each row's
# cells are joined into one text, led by US, as soon as they are made (so that a page
# keeps one string a row, not a list of cells for the garbage collector to walk), and
# the page's rows, led by RS, are encoded once. Quoting, the guard's look-up and the
# JSON the digests need are then a few replacements and searches over the page's
# bytes instead of work for each cell; a page with a cell holding US or RS itself goes
# row by row.
US, RS = "\x1f", "\x1e"
_WIDTH = len(COLUMNS)
# bytes.translate tables for the page-wide look-ups: separators become 1 and the
# characters that start a formula 2 (a guard is due where "1 2" follows, or the page
# starts with 2); the other bytes 0. And the control characters that RFC 8785 escapes
# (the separators aside) kept, every other byte dropped.
_MARKS = bytes(1 if b in (0x1E, 0x1F) else 2 if bytes([b]).decode("latin-1") in FORMULA_STARTS
               else 0 for b in range(256))
_NOT_CONTROL = bytes(range(0x1E, 256))


def page_bytes(rows: list[str]) -> bytes | None:
    """The rows' texts (``page_rows``) as one UTF-8 text, each row after the first led
    by RS; None if a cell holds US or RS itself (or a row is not ``COLUMNS`` wide)."""
    text = RS.join(rows).encode()
    if (text.count(b"\x1e") != len(rows) - 1
            or text.count(b"\x1f") != (_WIDTH - 1) * len(rows)):
        return None
    return text


def needs_guard(text: bytes) -> bool:
    """Whether a cell of the page ``text`` starts like a formula."""
    marks = text.translate(_MARKS)
    return marks[:1] == b"\x02" or b"\x01\x02" in marks


def page_digests(rows: list[str], text: bytes, out: bytearray) -> None:
    """Append each row's ``row_digest`` to ``out``; ``text`` is ``page_bytes(rows)``
    (not None). The RFC 8785 form of a row without control characters is its text
    with \\ and \" escaped, each US made ``","`` and the whole put in ``["`` … ``"]``."""
    forms = text.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(
        b"\x1f", b'","').split(b"\x1e")
    if not text.translate(None, _NOT_CONTROL):
        for form in forms:
            out += sha256(b'["' + form + b'"]').digest()[:ROW_DIGEST_BYTES]
        return
    for row, form in zip(rows, forms, strict=True):
        if form.translate(None, _NOT_CONTROL):
            out += row_digest(row.split(US))
        else:
            out += sha256(b'["' + form + b'"]').digest()[:ROW_DIGEST_BYTES]


def page_rows(docs: list[bytes], options: WriterOptions | None = None) -> list[str]:
    """Each document's cells (``fast_values``) as a ``row_text``."""
    return [US.join(fast_values(doc, options)) for doc in docs]


def csv_page(docs: list[bytes], options: WriterOptions) -> bytes:
    """The documents as CSV lines, as ``csv_line`` makes them; the digests of the cells
    the lines hold appended to ``options.digests``."""
    digests = options.digests
    rows = page_rows(docs, options)
    text = page_bytes(rows)
    if text is None:  # a cell holds a separator: row by row
        lines = []
        for doc in docs:
            cells, line = csv_line(fast_values(doc, options))
            if digests is not None:
                digests += row_digest(cells)
            lines.append(line)
        return "".join(lines).encode()
    if needs_guard(text):
        rows = [US.join(csv_line(row.split(US))[0]) for row in rows]
        text = RS.join(rows).encode()
    if digests is not None:
        page_digests(rows, text, digests)
    return (b'"' + text.replace(b'"', b'""').replace(b"\x1f", b'","').replace(
        b"\x1e", b'"\r\n"') + b'"\r\n')


def with_hash(doc: bytes, chain_hash: bytes) -> bytes:
    """A stored document with its ``hash`` as the API answers it (spliced in, not
    parsed and dumped again)."""
    return doc[:-1] + b',"hash":"' + chain_hash.hex().encode() + b'"}'


def with_hashes(docs: list[bytes], hashes: list[bytes] | None) -> list[bytes]:
    """``with_hash`` of each document (``hashes`` None: the documents are whole)."""
    if hashes is None:
        return docs
    return [with_hash(doc, h) for doc, h in zip(docs, hashes, strict=True)]


def csv_made(docs: list[bytes], hashes: list[bytes] | None, zone: str | None, written: int,
             digests: bool) -> tuple[bytes, bytes]:
    """``csv_page`` from plain values, as a worker process runs it: the lines, and their
    rows' digests (empty without ``digests``). ``hashes``: see ``with_hashes``;
    ``written`` (the rows before these) is not needed by CSV."""
    out = bytearray() if digests else None
    options = WriterOptions(zone_named(zone), out)
    return csv_page(with_hashes(docs, hashes), options), bytes(out or b"")


class CsvWriter:
    def __init__(self, options: WriterOptions) -> None:
        self._options = options

    def begin(self) -> bytes:
        return BOM + csv_line(list(COLUMNS))[1].encode()

    def write(self, docs: list[bytes]) -> bytes:
        return csv_page(docs, self._options) if docs else b""

    def write_made(self, made: bytes, rows: int) -> bytes:
        """Take the lines of the next ``rows`` rows, made by ``csv_made``."""
        return made

    def end(self) -> Iterator[bytes]:
        return iter(())

    def close(self) -> None:
        pass
