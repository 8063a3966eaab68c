"""/api/v1/events/{id}/proof and /api/v1/checkpoints/consistency: Merkle proofs against
signed checkpoints (RFC 9162 §2.1.3 and §2.1.4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import authenticate
from trailbook.api.integrity import checkpoint_json
from trailbook.api.render import JsonResponse
from trailbook.service.app import Trailbook

router = APIRouter(prefix="/api/v1", tags=["integrity"])


@router.get(
    "/events/{event_id}/proof",
    summary="Inclusion proof: the event is in the Merkle tree a checkpoint signed",
    description=(
        "Leaf `leaf_index` (= seq - 1) of the tenant's tree is SHA-256(0x00 ‖ the event's "
        "canonical form); `audit_path` leads from it to `checkpoint.tree_root` (RFC 9162 "
        "§2.1.3). `checkpoint` is the signed checkpoint (its signature covers tenant, seq, "
        "hash, time, key_id, tree_size and tree_root). Without `checkpoint=`, the first "
        "checkpoint covering the event. Needs the `read` scope (integrity.verify)."),
)
async def inclusion(
    request: Request, event_id: str,
    checkpoint: Annotated[int | None, Query(ge=1, description="a checkpoint's seq")] = None,
) -> JsonResponse:
    principal = await authenticate(request, "integrity.verify")
    tb: Trailbook = request.app.state.trailbook
    proof = await run_in_threadpool(tb.proofs.inclusion, principal, event_id, checkpoint)
    return JsonResponse({
        "event_id": event_id, "seq": proof.event.seq, "leaf_index": proof.leaf_index,
        "leaf_hash": proof.leaf_hash.hex(), "tree_size": proof.checkpoint.seq,
        "audit_path": [h.hex() for h in proof.path],
        "checkpoint": checkpoint_json(principal.tenant.name, proof.checkpoint),
    })


@router.get(
    "/checkpoints/consistency",
    summary="Consistency proof: a later checkpoint's tree extends an earlier one's",
    description=(
        "Between the trees signed by the checkpoints at seq `from` and `to` (RFC 9162 "
        "§2.1.4): nothing in the first `from` events changed. Needs the `read` scope "
        "(integrity.verify)."),
)
async def consistency(
    request: Request,
    from_: Annotated[int, Query(alias="from", ge=1, description="the earlier checkpoint's seq")],
    to: Annotated[int, Query(ge=1, description="the later checkpoint's seq")],
) -> JsonResponse:
    principal = await authenticate(request, "integrity.verify")
    tb: Trailbook = request.app.state.trailbook
    proof = await run_in_threadpool(tb.proofs.consistency, principal, from_, to)
    return JsonResponse({
        "from": checkpoint_json(principal.tenant.name, proof.old),
        "to": checkpoint_json(principal.tenant.name, proof.new),
        "proof": [h.hex() for h in proof.path],
    })
