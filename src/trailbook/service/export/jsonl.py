"""Events as JSON (one array) and NDJSON (one document a line): each event exactly as
``GET /api/v1/events`` answers it, its stored document plus ``hash``, so that anyone
can strip ``hash``, put the rest in RFC 8785 form and re-link it to its chain hash.

The array is written one document a line (``[``, the documents separated by ``,``
and a line end, ``]``), streamed like NDJSON."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from trailbook.integrity.export_check import document_digest
from trailbook.service.export.options import WriterOptions


def _digest_into(options: WriterOptions, docs: list[bytes]) -> None:
    digests = options.digests
    if digests is not None:
        for doc in docs:
            digests += document_digest(orjson.loads(doc))


class NdjsonWriter:
    def __init__(self, options: WriterOptions) -> None:
        self._options = options

    def begin(self) -> bytes:
        return b""

    def write(self, docs: list[bytes]) -> bytes:
        _digest_into(self._options, docs)
        return b"\n".join(docs) + b"\n"

    def end(self) -> Iterator[bytes]:
        return iter(())

    def close(self) -> None:
        pass


class JsonWriter:
    def __init__(self, options: WriterOptions) -> None:
        self._options = options
        self._empty = True

    def begin(self) -> bytes:
        return b"["

    def write(self, docs: list[bytes]) -> bytes:
        if not docs:
            return b""
        _digest_into(self._options, docs)
        lead = b"\n" if self._empty else b",\n"
        self._empty = False
        return lead + b",\n".join(docs)

    def end(self) -> Iterator[bytes]:
        yield b"]\n" if self._empty else b"\n]\n"

    def close(self) -> None:
        pass
