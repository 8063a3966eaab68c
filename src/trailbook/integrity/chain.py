"""The per-tenant hash chain: hash_n = SHA-256(hash_{n-1} || canonical(event_n)).

The genesis value (the ``hash_0`` before seq 1) is 32 zero bytes. ``hash`` is not part
of the canonical form of its own event; everything else the API returns is."""

from __future__ import annotations

from hashlib import sha256

GENESIS = bytes(32)

# Where seq sits in the canonical form. Keys are sorted, and "session_id" (always
# present, possibly null) is the top-level key right after "seq". Nothing after it can
# hold these bytes unescaped: the keys that follow ("severity", "source", "targets",
# "tenant") hold strings and fixed-shape objects, whose quotes are escaped. So the
# last occurrence is the top-level one, even if metadata (sorted earlier) has it too.
_SEQ_MARK = b'"seq":0,"session_id":'
_SEQ_AT = len(b'"seq":')


def link(previous: bytes, canonical: bytes) -> bytes:
    digest = sha256(previous)
    digest.update(canonical)  # not previous + canonical: no copy of the document
    return digest.digest()


def split_at_seq(canonical: bytes, seq: int = 0) -> tuple[bytes, bytes]:
    """Split the canonical form of an event whose seq is ``seq`` (0 before it is
    sealed) around that number, so that the store can put in the real seq without
    building the form again."""
    number = b"%d" % seq
    mark = _SEQ_MARK if seq == 0 else b'"seq":%b,"session_id":' % number
    at = canonical.rfind(mark)
    if at < 0:
        raise ValueError(f"not the canonical form of an event with seq {seq}")
    return canonical[: at + _SEQ_AT], canonical[at + _SEQ_AT + len(number) :]


def seal(previous: bytes, seq: int, head: bytes, tail: bytes) -> tuple[bytes, bytes]:
    """The canonical bytes of an event given ``seq``, and its chain hash."""
    canonical = b"%b%d%b" % (head, seq, tail)
    return canonical, link(previous, canonical)
