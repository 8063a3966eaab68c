"""/api/v1/server-logs: Trailbook's own log files. Reading needs ``logs.read``;
deleting a rotated copy and changing the levels or the rotation need ``logs.delete``.
Changes and deletions are audited in the tenant's ``admin`` category."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import authenticate, request_context
from trailbook.api.render import JsonResponse
from trailbook.logs.areas import AREAS, LEVELS
from trailbook.logs.files import LogFile
from trailbook.logs.setup import LogConfig
from trailbook.model.timefmt import format_us
from trailbook.service.app import Trailbook

router = APIRouter(prefix="/api/v1/server-logs", tags=["server logs"])


class LogSettingsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    levels: dict[str, str] | None = Field(default=None, description=(
        "area -> ERROR, WARN, INFO, DEBUG or TRACE; areas left out keep their level"))
    max_bytes: int | None = Field(default=None, description="rotate a file past this size")
    keep: int | None = Field(default=None, description="rotated copies kept per area")


def file_json(found: LogFile) -> dict[str, Any]:
    return {"name": found.name, "area": found.area,
            "kind": "live" if found.live else "rotated", "size": found.size,
            "modified": format_us(int(found.modified * 1_000_000)),
            "rotated_on": found.date,
            "links": {"download": f"/api/v1/server-logs/{found.name}",
                      "tail": f"/api/v1/server-logs/{found.name}/tail"}}


def config_json(config: LogConfig) -> dict[str, Any]:
    return {"levels": dict(config.levels), "max_bytes": config.max_bytes,
            "keep": config.keep}


def _tb(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


@router.get("", summary="The log files, each area's level and the rotation "
            "(needs logs.read)")
async def list_logs(request: Request) -> JsonResponse:
    principal = await authenticate(request, "logs.read")
    shown = await run_in_threadpool(_tb(request).server_logs.overview, principal)
    return JsonResponse({
        "folder": str(shown.folder),
        "files": [file_json(f) for f in shown.files],
        **config_json(shown.config),
        "areas": {area: list(loggers) for area, loggers in AREAS.items()},
        "level_choices": list(LEVELS),
    })


@router.patch("/settings", summary="Change levels per area, the rotation size or the "
              "copies kept (needs logs.delete; audited)")
async def change_settings(request: Request, body: LogSettingsChange) -> JsonResponse:
    principal = await authenticate(request, "logs.delete")
    context = request_context(request)
    config = await run_in_threadpool(
        lambda: _tb(request).server_logs.change(principal, context, levels=body.levels,
                                                max_bytes=body.max_bytes, keep=body.keep))
    return JsonResponse(config_json(config))


@router.get("/{name}", summary="Download a log file (needs logs.read)",
            response_class=Response)
async def download(request: Request, name: str) -> Response:
    principal = await authenticate(request, "logs.read")
    got = await run_in_threadpool(_tb(request).server_logs.download, principal, name,
                                  request_context(request))
    return StreamingResponse(got.chunks, media_type=got.media_type, headers={
        "Content-Length": str(got.size),
        "Content-Disposition": f'attachment; filename="{got.name}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.get("/{name}/tail", summary="The last records of a log file at or above a level "
            "(needs logs.read)")
async def tail(request: Request, name: str,
               lines: int = Query(200, description="how many records, 1-5000"),
               level: str = Query("TRACE", description="ERROR, WARN, INFO, DEBUG or TRACE"),
               ) -> JsonResponse:
    principal = await authenticate(request, "logs.read")
    found = await run_in_threadpool(_tb(request).server_logs.tail, principal, name, lines,
                                    level)
    return JsonResponse({"file": name, "level": level.upper(), "count": len(found),
                         "records": [{"level": r.level, "text": r.text} for r in found]})


@router.delete("/{name}", status_code=204, summary="Delete a rotated log file (needs "
               "logs.delete; a live file answers 409; audited)")
async def delete(request: Request, name: str) -> Response:
    principal = await authenticate(request, "logs.delete")
    await run_in_threadpool(_tb(request).server_logs.delete, principal, name,
                            request_context(request))
    return Response(status_code=204)
