"""An event that passed validation and is ready for the store: its canonical form
(split where ``seq`` goes, since the store assigns it under the tenant's chain lock)
and what the indexes need.

A msgspec struct, so that worker processes can hand batches of them to the writer as
MessagePack (``encode_prepared`` / ``decode_prepared``) for less than a microsecond
an event each way."""

from __future__ import annotations

import msgspec

from trailbook.query.terms import EventTerms


class PreparedEvent(msgspec.Struct, array_like=True, gc=False):
    id: str
    id_bytes: bytes
    occurred_us: int
    category: str
    action: str
    # The RFC 8785 form of the event is canonical_head + str(seq) + canonical_tail.
    canonical_head: bytes
    canonical_tail: bytes
    terms: EventTerms
    idempotency_key: str | None
    # SHA-256 of what the client said, to tell a true repeat from a reused key.
    idempotency_digest: bytes | None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[PreparedEvent])


def encode_prepared(events: list[PreparedEvent]) -> bytes:
    return _encoder.encode(events)


def decode_prepared(data: bytes) -> list[PreparedEvent]:
    return _decoder.decode(data)
