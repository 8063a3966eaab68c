"""/api/v1/exports: every event a search matches, as a file (csv, xlsx, json, ndjson),
and its signed manifest; /api/v1/events/export.csv is the CSV export's older name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import FileResponse, StreamingResponse

from trailbook.api.auth import authenticate, request_context
from trailbook.api.search_params import filter_params, search_params
from trailbook.query.language import combine
from trailbook.service.app import Trailbook
from trailbook.service.export import FORMATS, Export

router = APIRouter(prefix="/api/v1", tags=["export"])

EXPORT_ID_HEADER = "X-Trailbook-Export-Id"
_FORMATS = ", ".join(f"`{name}`" for name in FORMATS)
_DESCRIPTION = (
    "Takes the same filters and `query` as `GET /api/v1/events`; newest first, streamed. "
    "Personal data is masked for a role without `personal_data`. CSV is UTF-8 with a byte "
    "order mark; a CSV cell starting with `= + - @`, a tab or CR gets a leading `'` "
    "(formula injection). `tz` (an IANA name, default UTC) sets the time zone of "
    "occurred_at and received_at in CSV and XLSX; JSON and NDJSON hold each event exactly "
    "as the API returns it. Audited as `export.run`. Needs `events.export` (the `read` "
    f"scope of a key). The `{EXPORT_ID_HEADER}` header names the export: its signed "
    "manifest is at `GET /api/v1/exports/{id}/manifest` once the download has ended."
)


async def _export(request: Request, query: str | None, format_name: str,
                  tz: str | None) -> StreamingResponse:
    principal = await authenticate(request, "events.export")
    tb: Trailbook = request.app.state.trailbook
    params = filter_params(request, "query", "format", "tz")
    context = request_context(request)

    def start() -> Export:
        flt = combine(query, params)
        return tb.exports.start(principal, flt, format_name, context=context, query=query,
                                tz=tz)

    export = await run_in_threadpool(start)
    # A plain iterator: Starlette runs each step (a page read) in a worker thread.
    return StreamingResponse(
        export.chunks, media_type=export.format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                 EXPORT_ID_HEADER: export.id,
                 "Access-Control-Expose-Headers": EXPORT_ID_HEADER},
    )


@router.get(
    "/exports",
    summary="Download every event a search matches, as CSV, XLSX, JSON or NDJSON",
    description=_DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()},
                     "description": "The file"}},
)
async def export_file(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    format_name: Annotated[str, Query(alias="format", description=f"one of {_FORMATS}")] = "csv",
    tz: Annotated[str | None, Query(description="IANA time zone for CSV/XLSX times")] = None,
) -> StreamingResponse:
    return await _export(request, query, format_name, tz)


@router.get(
    "/events/export.csv",
    summary="Download every event a search matches, as CSV",
    description="`GET /api/v1/exports?format=csv` under its older name. " + _DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The CSV file"}},
)
async def export_csv(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    tz: Annotated[str | None, Query(description="IANA time zone for the times")] = None,
) -> StreamingResponse:
    return await _export(request, query, "csv", tz)


@router.get(
    "/exports/{export_id}/manifest",
    summary="The signed manifest of an export",
    description=(
        "The manifest of an export this tenant ran (the id is the export's "
        f"`{EXPORT_ID_HEADER}` header), ready once the export's download has ended and "
        "kept for `export_manifest_ttl_seconds` (default an hour). 409 while the export "
        "is still running or when its manifest could not be made (the reason is given); "
        "404 for an unknown or expired id. Check it offline with `trailbook verify "
        "--export FILE --manifest MANIFEST --public-key KEY`. Needs `events.export`."
    ),
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The manifest"}},
)
async def export_manifest(request: Request, export_id: str) -> FileResponse:
    principal = await authenticate(request, "events.export")
    tb: Trailbook = request.app.state.trailbook
    found = await run_in_threadpool(tb.exports.manifest, principal, export_id)
    return FileResponse(found.path, media_type="application/json", filename=found.filename,
                        headers={"Cache-Control": "no-store"})
