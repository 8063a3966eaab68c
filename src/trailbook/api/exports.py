"""/api/v1/exports: every event a search matches, as a file (csv, xlsx, json, ndjson),
and its signed manifest; /api/v1/events/export.csv is the CSV export's older name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from trailbook.api.auth import authenticate, request_context
from trailbook.api.render import JsonResponse
from trailbook.api.search_params import filter_params, search_params
from trailbook.model.timefmt import format_us
from trailbook.query.language import combine
from trailbook.service.app import Trailbook
from trailbook.service.export import FORMATS, Export
from trailbook.store.records import ExportJob

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
    "manifest is at `GET /api/v1/exports/{id}/manifest` once the download has ended. "
    "An export matching more than `export_background_rows` events (default 100,000) runs "
    "as a background job instead: the answer is 202 with the job (its progress, and its "
    "file and manifest once done)."
)


def _tb(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


def job_json(job: ExportJob) -> dict[str, Any]:
    """An export job as the API shows it, with the links to follow it and fetch it."""
    base = f"/api/v1/exports/jobs/{job.id}"
    percent = (100.0 if job.state == "done" else None if job.total is None else
               round(min(100.0, 100.0 * job.rows / max(job.total, 1)), 1))
    links = {"self": base, "page": f"/exports?job={job.id}"}
    if job.state == "done":
        links.update(file=f"{base}/file", manifest=f"{base}/manifest")
    return {"id": job.id, "state": job.state, "format": job.format, "query": job.query,
            "filter": job.filter["filter"], "tz": job.tz, "total": job.total,
            "rows": job.rows, "percent": percent, "bytes": job.bytes,
            "filename": job.filename, "sha256": job.sha256, "error": job.error,
            "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "expires_at": format_us(job.expires_us),
            "links": links}


def _wants_page(request: Request) -> bool:
    """A browser following a link (it asks for HTML first), not a program."""
    accept = request.headers.get("accept", "")
    return accept.startswith("text/html")


def _job_answer(request: Request, job: ExportJob) -> Response:
    if _wants_page(request):
        return RedirectResponse(f"/exports?job={job.id}", status_code=303)
    return JsonResponse(job_json(job), status_code=202,
                        headers={"Location": f"/api/v1/exports/jobs/{job.id}"})


async def _export(request: Request, query: str | None, format_name: str,
                  tz: str | None, background: bool | None) -> Response:
    principal = await authenticate(request, "events.export")
    tb = _tb(request)
    params = filter_params(request, "query", "format", "tz", "background")
    context = request_context(request)

    def start() -> Export | ExportJob:
        flt = combine(query, params)
        tb.exports.format_of(format_name)  # an unknown format is refused before counting
        if background or (background is None and tb.export_jobs.is_large(principal, flt)):
            return tb.export_jobs.start(principal, flt, format_name, context=context,
                                        query=query, tz=tz)
        return tb.exports.start(principal, flt, format_name, context=context, query=query,
                                tz=tz)

    export = await run_in_threadpool(start)
    if isinstance(export, ExportJob):
        return _job_answer(request, export)
    # A plain iterator: Starlette runs each step (a page read) in a worker thread.
    return StreamingResponse(
        export.chunks, media_type=export.format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                 EXPORT_ID_HEADER: export.id,
                 "Access-Control-Expose-Headers": EXPORT_ID_HEADER},
    )


_BACKGROUND = Query(description=(
    "true: always run as a background job; false: always stream; unset: a job when the "
    "search matches more than `export_background_rows` events (default 100,000)"))


@router.get(
    "/exports",
    summary="Download every event a search matches, as CSV, XLSX, JSON or NDJSON",
    description=_DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()},
                     "description": "The file"},
               202: {"description": "Too large to stream: a background export job "
                                    "(see /api/v1/exports/jobs/{id}); a browser is "
                                    "sent to the console's exports page instead (303)"}},
)
async def export_file(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    format_name: Annotated[str, Query(alias="format", description=f"one of {_FORMATS}")] = "csv",
    tz: Annotated[str | None, Query(description="IANA time zone for CSV/XLSX times")] = None,
    background: Annotated[bool | None, _BACKGROUND] = None,
) -> Response:
    return await _export(request, query, format_name, tz, background)


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
    background: Annotated[bool | None, _BACKGROUND] = None,
) -> Response:
    return await _export(request, query, "csv", tz, background)

@router.post(
    "/exports/jobs", status_code=202,
    summary="Start a background export job",
    description=(
        "Takes the parameters of `GET /api/v1/exports` (filters, `query`, `format`, `tz`) "
        "and always runs the export as a job: 202 with the job. Follow it at its `self` "
        "link; when its `state` is `done`, download `links.file` and `links.manifest` "
        "(kept for `export_job_ttl_seconds`, default a day). Jobs are their starter's "
        "own. Audited as `export.run` when it starts. Needs `events.export`."),
)
async def start_job(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    format_name: Annotated[str, Query(alias="format", description=f"one of {_FORMATS}")] = "csv",
    tz: Annotated[str | None, Query(description="IANA time zone for CSV/XLSX times")] = None,
) -> Response:
    principal = await authenticate(request, "events.export")
    tb = _tb(request)
    params = filter_params(request, "query", "format", "tz")
    context = request_context(request)
    job = await run_in_threadpool(lambda: tb.export_jobs.start(
        principal, combine(query, params), format_name, context=context, query=query, tz=tz))
    return JsonResponse(job_json(job), status_code=202,
                        headers={"Location": f"/api/v1/exports/jobs/{job.id}"})


@router.get("/exports/jobs", summary="Your export jobs, newest first (needs events.export)")
async def list_jobs(request: Request) -> JsonResponse:
    principal = await authenticate(request, "events.export")
    jobs = await run_in_threadpool(_tb(request).export_jobs.list, principal)
    return JsonResponse({"jobs": [job_json(j) for j in jobs]})


@router.get("/exports/jobs/{job_id}", summary="One of your export jobs and its progress")
async def get_job(request: Request, job_id: str) -> JsonResponse:
    principal = await authenticate(request, "events.export")
    job = await run_in_threadpool(_tb(request).export_jobs.get, principal, job_id)
    return JsonResponse(job_json(job))


@router.get(
    "/exports/jobs/{job_id}/file", summary="Download a finished export job's file",
    description="409 while the job runs or when it failed; 404 once it has expired.",
    response_class=FileResponse,
)
async def job_file(request: Request, job_id: str) -> FileResponse:
    principal = await authenticate(request, "events.export")
    found = await run_in_threadpool(_tb(request).export_jobs.file, principal, job_id)
    return FileResponse(found.path, media_type=found.media_type, filename=found.filename,
                        headers={"Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff",
                                 EXPORT_ID_HEADER: job_id})


@router.get(
    "/exports/jobs/{job_id}/manifest", summary="A finished export job's signed manifest",
    response_class=FileResponse,
)
async def job_manifest(request: Request, job_id: str) -> FileResponse:
    principal = await authenticate(request, "events.export")
    found = await run_in_threadpool(_tb(request).export_jobs.manifest, principal, job_id)
    return FileResponse(found.path, media_type=found.media_type, filename=found.filename,
                        headers={"Cache-Control": "no-store"})


@router.delete(
    "/exports/jobs/{job_id}",
    summary="Cancel a running export job, or remove a finished one and its file",
)
async def cancel_job(request: Request, job_id: str) -> JsonResponse:
    principal = await authenticate(request, "events.export")
    job = await run_in_threadpool(_tb(request).export_jobs.cancel, principal, job_id)
    return JsonResponse(job_json(job))


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
    found = await run_in_threadpool(_tb(request).exports.manifest, principal, export_id)
    return FileResponse(found.path, media_type="application/json", filename=found.filename,
                        headers={"Cache-Control": "no-store"})
