"""Opaque keyset cursors: the position of the last event of a page."""

from __future__ import annotations

import base64
import binascii

from trailbook.errors import ErrorDetail, MalformedRequest

_PREFIX = "c1"


def encode_cursor(pos: int) -> str:
    raw = pos.to_bytes(8, "big", signed=False)
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    def bad() -> MalformedRequest:
        return MalformedRequest(
            "the cursor is not one this service gave out",
            [ErrorDetail("cursor", "not a valid cursor; pass next_cursor from a previous page")],
        )

    if not cursor.startswith(_PREFIX) or len(cursor) != 13:
        raise bad()
    try:
        raw = base64.urlsafe_b64decode(cursor[2:] + "=")
    except (binascii.Error, ValueError):
        raise bad() from None
    if len(raw) != 8:
        raise bad()
    return int.from_bytes(raw, "big", signed=False)
