"""/api/v1/health (liveness) and /api/v1/health/ready (readiness)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from trailbook import __version__
from trailbook.api.auth import SESSION_COOKIE, caller
from trailbook.api.render import JsonResponse
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health", summary="Liveness", openapi_extra={"security": []})
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


async def _optional_caller(request: Request) -> Principal | None:
    """The caller if they sent valid credentials; None for anyone else (readiness
    answers everyone, with details only for a caller who may verify integrity)."""
    if not (SESSION_COOKIE in request.cookies or "authorization" in request.headers
            or "x-api-key" in request.headers):
        return None
    try:
        return await caller(request)
    except Exception:  # wrong or expired credentials, or no database: readiness says
        return None


@router.get(
    "/health/ready",
    summary="Readiness: 200 when the database answers and the signing key is loaded",
    description="503 otherwise. Anyone gets `{\"status\": \"ready\"}` (or `not_ready`); a "
    "caller with the `integrity.verify` permission (an API key with the `read` scope, or "
    "staff allowed to verify) also gets every health check and its findings: database, "
    "signing key, disk space, the chain of their tenant re-linked up to its head, and the "
    "alerts' lag.",
    openapi_extra={"security": []},
    responses={503: {"description": "Not ready"}},
)
async def ready(request: Request) -> JsonResponse:
    tb: Trailbook = request.app.state.trailbook
    principal = await _optional_caller(request)
    is_ready, body = await run_in_threadpool(tb.health.readiness_for, principal)
    return JsonResponse(body, status_code=200 if is_ready else 503)
