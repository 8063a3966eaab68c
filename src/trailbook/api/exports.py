"""/api/v1/events/export.csv: every event a search matches, as a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trailbook.api.auth import authenticate, request_context
from trailbook.api.events import filter_params
from trailbook.api.search_params import search_params
from trailbook.query.language import combine
from trailbook.service.app import Trailbook
from trailbook.service.export import Export

router = APIRouter(prefix="/api/v1", tags=["export"])


@router.get(
    "/events/export.csv",
    summary="Download every event a search matches, as CSV",
    description=(
        "Takes the same filters and `query` as `GET /api/v1/events`; newest first, "
        "streamed. Personal data is masked for a role without `personal_data`; a cell "
        "starting with `= + - @`, a tab or CR gets a leading `'` (formula injection). "
        "Audited as `export.run`. Needs `events.export` (the `read` scope of a key)."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The CSV file"}},
)
async def export_csv(
    request: Request, query: Annotated[str | None, Depends(search_params)] = None,
) -> StreamingResponse:
    principal = await authenticate(request, "events.export")
    tb: Trailbook = request.app.state.trailbook
    params = filter_params(request, "query")
    context = request_context(request)

    def start() -> Export:
        flt = combine(query, params)
        return tb.exports.start(principal, flt, "csv", context=context, query=query)

    export = await run_in_threadpool(start)
    # A plain iterator: Starlette runs each step (a page read) in a worker thread.
    return StreamingResponse(
        export.chunks, media_type=export.format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
