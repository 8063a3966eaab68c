"""/api/v1/retention: how long each category of the tenant's events is kept (policies),
the legal holds that keep matching events from any purge until released, and the
purge runs. Needs ``retention.manage`` (a staff role: owner and admin have it; API
keys never do). Every change is audited in the tenant's ``admin`` category.

A policy's category goes in the path: a category of the tenant, or the default as
``*`` (URL-encoded ``%2A``) or the word ``default``."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import request_context, run_as
from trailbook.api.render import JsonResponse
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.service.retention.rules import (
    MAX_DAYS,
    PERMISSION,
    categories_view,
    hold_view,
    policy_view,
)

router = APIRouter(prefix="/api/v1/retention", tags=["retention"])
T = TypeVar("T")


class PolicyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Any here: the service names a wrong type or range under ``keep_days`` itself.
    keep_days: Any = Field(description=f"days to keep the events, 1-{MAX_DAYS}; null: "
                           "forever", json_schema_extra={"type": ["integer", "null"]})


class NewHold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=1000, description="1-100 characters")
    query: str = Field(max_length=10_000, description=(
        "the query language, e.g. actor.email:ivan@example.com before:2026-07-01; "
        "no last: (a hold must not drift) and no tag:"))
    reason: str = Field(max_length=10_000, description="why the events are held "
                        "(1-1,000 characters), e.g. the case or request it answers")


class HoldRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=10_000, description="why the hold ends (1-1,000 "
                        "characters)")




# -- policies ----------------------------------------------------------------

@router.get("/policies", summary="The tenant's retention policies",
            description="`policies`: the policies set (the default `*` first). "
            "`categories`: each category with the days its events are kept "
            "(`keep_days`, null: forever) and whether that is its own policy (`own`), "
            "the default (`default`) or neither (`none`).")
async def list_policies(request: Request) -> JsonResponse:
    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        found = tb.retention_rules.list_policies(p, p.tenant)
        return {"policies": [policy_view(x) for x in found],
                "categories": categories_view(p.tenant, found)}
    return JsonResponse(await run_as(request, PERMISSION, work))


@router.put("/policies/{category}", summary="Set how long a category's events are kept",
            description="`keep_days` 1-36500, or null to keep them forever. The category "
            "`*` (or `default`) is the default for categories without a policy of "
            "their own. Audited as `retention.policy.set`.")
async def set_policy(request: Request, category: str, body: PolicyChange) -> JsonResponse:
    context = request_context(request)
    made = await run_as(request, PERMISSION, lambda tb, p: tb.retention_rules.set_policy(
        p, p.tenant, category, body.keep_days, context))
    return JsonResponse(policy_view(made))


@router.delete("/policies/{category}", summary="Remove a category's own policy",
               description="Its events then follow the default (`*`); removing the "
               "default keeps the categories without a policy forever. Audited as "
               "`retention.policy.delete`.")
async def delete_policy(request: Request, category: str) -> JsonResponse:
    context = request_context(request)
    gone = await run_as(request, PERMISSION, lambda tb, p: tb.retention_rules.delete_policy(
        p, p.tenant, category, context))
    return JsonResponse(policy_view(gone))


# -- legal holds ---------------------------------------------------------------

@router.get("/holds", summary="The tenant's legal holds, newest first")
async def list_holds(
    request: Request,
    include_released: Annotated[bool, Query(description="also the released ones "
                                            "(their history)")] = True,
) -> JsonResponse:
    found = await run_as(request, PERMISSION, lambda tb, p: tb.retention_rules.list_holds(
        p, p.tenant, include_released))
    return JsonResponse({"holds": [hold_view(h) for h in found]})


@router.post("/holds", status_code=201, summary="Place a legal hold",
             description="The events the query matches (stored now or later) are never "
             "purged while the hold is active. Audited as `retention.hold.create`.")
async def create_hold(request: Request, body: NewHold) -> JsonResponse:
    context = request_context(request)
    made = await run_as(request, PERMISSION, lambda tb, p: tb.retention_rules.create_hold(
        p, p.tenant, body.name, body.query, body.reason, context))
    return JsonResponse(hold_view(made), status_code=201)


@router.get("/holds/{hold_id}", summary="One legal hold")
async def get_hold(request: Request, hold_id: str) -> JsonResponse:
    found = await run_as(request, PERMISSION,
        lambda tb, p: tb.retention_rules.hold(p, p.tenant, hold_id))
    return JsonResponse(hold_view(found))


@router.post("/holds/{hold_id}/release", summary="Release a legal hold",
             description="Its events may be purged again, as their policy says. The hold "
             "stays listed with who released it, when and why. 409 if released already. "
             "Audited as `retention.hold.release`.")
async def release_hold(request: Request, hold_id: str, body: HoldRelease) -> JsonResponse:
    context = request_context(request)
    released = await run_as(request, PERMISSION, lambda tb, p: tb.retention_rules.release_hold(
        p, p.tenant, hold_id, body.reason, context))
    return JsonResponse(hold_view(released))


# -- purge runs ----------------------------------------------------------------

@router.get("/runs", summary="The tenant's recent purge runs, newest first")
async def list_runs(request: Request) -> JsonResponse:
    found = await run_as(request, PERMISSION,
        lambda tb, p: [r.as_dict() for r in tb.retention.runs(p)])
    return JsonResponse({"runs": found})


@router.post("/runs", summary="Run retention for the tenant now",
             description="Archives, then removes, the events past their policy and not "
             "held, and records the purge (see docs/retention.md).")
async def run_now(request: Request) -> JsonResponse:
    context = request_context(request)
    report = await run_as(request, PERMISSION,
        lambda tb, p: tb.retention.run_for(p, context).as_dict())
    return JsonResponse(report)
