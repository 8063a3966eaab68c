"""/api/v1/events: ingest, search, read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import authenticate, request_context
from trailbook.api.render import appended_json, event_json, page_json
from trailbook.api.search_params import filter_params, search_params
from trailbook.errors import ErrorDetail, PayloadTooLarge
from trailbook.query.language import combine
from trailbook.service.app import Trailbook
from trailbook.service.events import DEFAULT_PAGE, MAX_PAGE

router = APIRouter(prefix="/api/v1", tags=["events"])


JSON = "application/json"
OneQuery = Annotated[str | None, Query()]

_INGEST_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/EventIn"},
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/EventIn"},
                            "maxItems": 1000,
                        },
                    ]
                }
            }
        },
    }
}


@router.post(
    "/events",
    status_code=201,
    summary="Record one event (a JSON object) or a batch of up to 1,000 (a JSON array)",
    description=(
        "All or nothing: if any event is invalid, nothing is stored and the error names it "
        "(`events[3].actor.email`). An `Idempotency-Key` header or `idempotency_key` field "
        "makes retries safe: a repeat returns the stored event with `duplicate: true`. "
        "Needs the `ingest` scope."
    ),
    openapi_extra=_INGEST_DOC,
    responses={200: {"description": "Every event was a repeat of a stored one"}},
)
async def post_events(
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    principal = await authenticate(request, "events.ingest")
    tb: Trailbook = request.app.state.trailbook
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > tb.settings.max_body_bytes:
        raise PayloadTooLarge(
            f"the body is {int(declared)} bytes; at most {tb.settings.max_body_bytes}",
            [ErrorDetail("body", "too large; send smaller batches")],
        )
    body = await request.body()

    def work() -> bytes:
        events, batch = tb.events.decode(body)
        appended = tb.events.ingest(
            principal.tenant, events, batch=batch, idempotency_key=idempotency_key
        )
        status[0] = 201 if any(not a.duplicate for a in appended) else 200
        return appended_json(appended)

    status = [201]
    payload = await run_in_threadpool(work)
    return Response(payload, status_code=status[0], media_type=JSON)


@router.get(
    "/events",
    summary="Search events, newest first",
    description=(
        "Filters combine with AND; a filter given several values (repeated or "
        "comma-separated) matches any of them. `action=miner.*` matches a prefix. "
        "Pass `next_cursor` back as `cursor` for the next page. Needs the `read` scope."
    ),
)
async def list_events(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    cursor: OneQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> Response:
    principal = await authenticate(request, "events.read")
    tb: Trailbook = request.app.state.trailbook
    params = filter_params(request, "cursor", "limit", "query")
    context = request_context(request)

    def work() -> bytes:
        flt = combine(query, params)
        page = tb.reads.search(principal, flt, cursor, limit, context=context, query=query)
        return page_json(page.events, page.next_cursor,
                         masked=not principal.sees_personal_data)

    return Response(await run_in_threadpool(work), media_type=JSON)


@router.get("/events/{event_id}", summary="One event by id. Needs the `read` scope.")
async def get_event(request: Request, event_id: str) -> Response:
    principal = await authenticate(request, "events.read")
    tb: Trailbook = request.app.state.trailbook
    context = request_context(request)
    found = await run_in_threadpool(
        lambda: tb.reads.get(principal, event_id, context=context))
    return Response(event_json(found, masked=not principal.sees_personal_data),
                    media_type=JSON)
