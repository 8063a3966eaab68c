"""/api/v1/verify, /api/v1/checkpoints and /api/v1/keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import authenticate, request_context
from trailbook.api.render import JsonResponse
from trailbook.service.app import Trailbook
from trailbook.store.records import Checkpoint

router = APIRouter(prefix="/api/v1", tags=["integrity"])


def checkpoint_json(tenant: str, c: Checkpoint) -> dict[str, Any]:
    """A signed checkpoint; its signature covers every field but itself (the tree
    fields are null for a checkpoint signed before the Merkle tree, and not signed)."""
    return {"tenant": tenant, "seq": c.seq, "hash": c.hash.hex(), "time": c.created_at,
            "key_id": c.key_id, "signature": c.signature.hex(),
            "tree_size": c.seq if c.tree_root is not None else None,
            "tree_root": c.tree_root.hex() if c.tree_root is not None else None}


@router.get(
    "/verify",
    summary="Recompute the tenant's chain and check it against the signed checkpoints",
    description="`ok` is false when anything is wrong; `first_problem` names the first bad "
    "seq and the kind of damage. A verification by staff is recorded in the `access` "
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
    return JsonResponse({"checkpoints": [checkpoint_json(principal.tenant.name, c)
                                         for c in found]})


@router.get(
    "/keys",
    summary="The public keys that sign checkpoints (no authentication needed)",
    openapi_extra={"security": []},
)
async def keys(request: Request) -> JsonResponse:
    tb: Trailbook = request.app.state.trailbook
    return JsonResponse({"keys": tb.integrity.public_keys()})
