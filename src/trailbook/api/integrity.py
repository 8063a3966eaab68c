"""/api/v1/verify, /api/v1/checkpoints and /api/v1/keys."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import authenticate, request_context
from trailbook.api.render import JsonResponse
from trailbook.service.app import Trailbook

router = APIRouter(prefix="/api/v1", tags=["integrity"])


@router.get(
    "/verify",
    summary="Recompute the tenant's chain and check it against the signed checkpoints",
    description="`ok` is false when anything is wrong; `first_problem` names the first bad "
    "seq and the kind of damage. Each verification is recorded in the tenant's `access` "
    "log as `integrity.verify`, with its outcome. Needs the `read` scope.",
)
async def verify(request: Request) -> JsonResponse:
    principal = await authenticate(request, "integrity.verify")
    tb: Trailbook = request.app.state.trailbook
    report = await run_in_threadpool(tb.integrity.verify_for, principal,
                                     request_context(request))
    return JsonResponse(report.as_dict())


@router.get("/checkpoints", summary="The tenant's signed checkpoints, oldest first")
async def checkpoints(request: Request) -> JsonResponse:
    principal = await authenticate(request, "integrity.verify")
    tb: Trailbook = request.app.state.trailbook
    found = await run_in_threadpool(tb.integrity.checkpoints, principal.tenant)
    return JsonResponse(
        {
            "checkpoints": [
                {
                    "tenant": principal.tenant.name,
                    "seq": c.seq,
                    "hash": c.hash.hex(),
                    "time": c.created_at,
                    "key_id": c.key_id,
                    "signature": c.signature.hex(),
                }
                for c in found
            ]
        }
    )


@router.get(
    "/keys",
    summary="The public keys that sign checkpoints (no authentication needed)",
    openapi_extra={"security": []},
)
async def keys(request: Request) -> JsonResponse:
    tb: Trailbook = request.app.state.trailbook
    return JsonResponse({"keys": tb.integrity.public_keys()})
