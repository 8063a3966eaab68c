"""JSON answers for events. A stored event is its canonical document plus ``hash``;
documents are spliced as bytes rather than parsed and dumped again."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from trailbook.service.access.masking import mask_event
from trailbook.store.records import Appended, StoredEvent


def event_json(event: StoredEvent, *, masked: bool = False) -> bytes:
    """The event as stored, plus its hash; ``masked``: with personal data hidden."""
    doc = bytes(event.doc)
    whole = doc[:-1] + b',"hash":"' + bytes(event.hash).hex().encode() + b'"}'
    return orjson.dumps(mask_event(orjson.loads(whole))) if masked else whole


def page_json(events: list[StoredEvent], next_cursor: str | None, *,
              masked: bool = False) -> bytes:
    return (
        b'{"events":['
        + b",".join(event_json(e, masked=masked) for e in events)
        + b'],"next_cursor":'
        + orjson.dumps(next_cursor)
        + b"}"
    )


def appended_json(appended: list[Appended]) -> bytes:
    return orjson.dumps(
        {
            "events": [
                {"id": a.id, "seq": a.seq, "hash": a.hash.hex(), "duplicate": a.duplicate}
                for a in appended
            ],
            "stored": sum(1 for a in appended if not a.duplicate),
            "duplicates": sum(1 for a in appended if a.duplicate),
        }
    )


class JsonResponse(Response):
    """A JSON response rendered by orjson."""

    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)
