"""/api/v1/events/stream: a live tail of the events that arrive and match a search,
as server-sent events (text/event-stream).

Messages: ``event: ready`` once on open (``id`` the seq the tail starts after), then
``event: events`` with ``id: <last seq read>`` and ``data: {"events": [...]}`` (the
search's event JSON) whenever new events match; a ``: keepalive`` comment when nothing
was sent for a while; ``event: end`` with an error body when the caller's session or
key stops being valid, after which the stream closes. ``Last-Event-ID`` (sent by an
``EventSource`` when it reconnects) resumes after that seq, so nothing is missed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trailbook.api.auth import SESSION_COOKIE, authenticate, bearer_secret, request_context
from trailbook.api.render import event_json
from trailbook.api.search_params import filter_params, search_params
from trailbook.errors import ErrorDetail, TrailbookError, Unauthenticated, ValidationFailed
from trailbook.query.filters import EventFilter
from trailbook.query.language import combine
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.service.tail import BATCH

router = APIRouter(prefix="/api/v1", tags=["events"])
log = logging.getLogger("trailbook.api")

EVENT_STREAM = "text/event-stream"


def message(kind: str, data: bytes, seq: int | None = None) -> bytes:
    """One server-sent event (``data`` is one line of JSON)."""
    head = b"event: " + kind.encode() + b"\n"
    if seq is not None:
        head += b"id: %d\n" % seq
    return head + b"data: " + data + b"\n\n"


def _resume_after(last_event_id: str | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return None
    text = last_event_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValidationFailed("Last-Event-ID is not one this stream sent", [ErrorDetail(
            "Last-Event-ID", "the id of a message of this stream: a seq, a whole number")])
    return int(text)


def _recheck(tb: Trailbook, request: Request) -> Principal:
    """The caller again, from the credentials that opened the stream (a revoked or
    expired session or key, a disabled user raise), still allowed to read events."""
    secret = bearer_secret(request)
    if secret is not None:
        principal = tb.keys.authenticate(secret)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated("not signed in", [ErrorDetail("session", "no session")])
        principal = tb.sessions.authenticate(token)
    principal.require("events.read")
    return principal


async def _events(request: Request, tb: Trailbook, principal: Principal, flt: EventFilter,
                  after: int) -> AsyncIterator[bytes]:
    settings = tb.settings
    clock = time.monotonic
    yield message("ready", orjson.dumps({"after_seq": after}), after)
    last_sent = last_check = clock()
    while not await request.is_disconnected():
        if clock() - last_check >= settings.tail_recheck_seconds:
            try:
                principal = await run_in_threadpool(_recheck, tb, request)
            except TrailbookError as ended:
                yield message("end", orjson.dumps(ended.as_dict()))
                return
            last_check = clock()
        try:
            found, read_to = await run_in_threadpool(tb.tail.poll, principal, flt, after)
        except TrailbookError as failed:
            log.error("live tail of %s stopped: %s", principal.label, failed.one_line())
            yield message("end", orjson.dumps(failed.as_dict()))
            return
        # Seqs have no gaps: a full batch read means there may be more waiting.
        caught_up = read_to - after < BATCH
        after = read_to
        if found:
            masked = not principal.sees_personal_data
            data = b'{"events":[' + b",".join(event_json(e, masked=masked)
                                              for e in found) + b"]}"
            yield message("events", data, after)
            last_sent = clock()
        elif clock() - last_sent >= settings.tail_keepalive_seconds:
            yield b": keepalive\n\n"
            last_sent = clock()
        if caught_up:
            await asyncio.sleep(settings.tail_poll_seconds)


@router.get(
    "/events/stream",
    summary="Live tail: events arriving from now on that match a search (server-sent events)",
    description=(
        "Takes the same filters and `query` as `GET /api/v1/events`. Sends `event: events` "
        "messages (`data: {\"events\": [...]}`, `id:` the last seq read) in arrival order "
        "(seq), `: keepalive` comments, and `event: end` when the session or key stops "
        "being valid. `Last-Event-ID` resumes after that seq. Needs the `read` scope."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {EVENT_STREAM: {}}, "description": "The event stream"}},
)
async def tail_events(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    principal = await authenticate(request, "events.read")
    tb: Trailbook = request.app.state.trailbook
    params = filter_params(request, "query")
    context = request_context(request)
    resume = _resume_after(last_event_id)

    def start() -> tuple[EventFilter, int]:
        flt = combine(query, params)
        return flt, tb.tail.start(principal, flt, context=context, query=query)

    flt, head = await run_in_threadpool(start)
    # Resuming past the head (an id from another trail) starts at the head.
    after = head if resume is None else min(resume, head)
    return StreamingResponse(
        _events(request, tb, principal, flt, after), media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
