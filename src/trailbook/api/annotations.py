"""/api/v1/events/{id}/annotations, /comments and /tags: comments and tags that staff
put on events. Adding one needs ``events.annotate`` (staff only) and is audited in the
tenant's ``admin`` category; reading them needs ``events.read``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import authenticate, request_context
from trailbook.api.render import JsonResponse
from trailbook.service.app import Trailbook
from trailbook.store.records import Annotation

router = APIRouter(prefix="/api/v1", tags=["annotations"])


class NewComment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The service's rule (1-4,000 characters after trimming) names the field ``text``;
    # this bound only keeps absurd bodies out.
    text: str = Field(max_length=20_000, description="1-4,000 characters")


class NewTag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: str = Field(max_length=1_000, description=(
        "1-64 characters of a-z, 0-9 and . _ : -, starting with a letter or digit; "
        "stored in lower case"))


def _author(a: Annotation) -> dict[str, Any]:
    return {"id": a.author_user_id, "email": a.author_email, "name": a.author_name}


def comment_json(a: Annotation) -> dict[str, Any]:
    return {"id": a.id, "text": a.body, "author": _author(a), "created_at": a.created_at}


def tag_json(a: Annotation) -> dict[str, Any]:
    return {"id": a.id, "tag": a.body, "author": _author(a), "created_at": a.created_at}


def _tb(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


@router.get("/events/{event_id}/annotations",
            summary="An event's comments and tags, oldest first (needs events.read)")
async def list_annotations(request: Request, event_id: str) -> JsonResponse:
    principal = await authenticate(request, "events.read")
    found = await run_in_threadpool(_tb(request).annotations.list, principal, event_id)
    body: dict[str, Any] = {"comments": [comment_json(a) for a in found.comments],
                            "tags": [tag_json(a) for a in found.tags]}
    if not principal.sees_personal_data:
        body["masked"] = True
    return JsonResponse(body)


@router.post("/events/{event_id}/comments", status_code=201,
             summary="Comment on an event (needs events.annotate; staff only)")
async def add_comment(request: Request, event_id: str, body: NewComment) -> JsonResponse:
    principal = await authenticate(request, "events.annotate")
    context = request_context(request)
    made = await run_in_threadpool(
        _tb(request).annotations.comment, principal, event_id, body.text, context)
    return JsonResponse(comment_json(made), status_code=201)


@router.post("/events/{event_id}/tags", status_code=201,
             summary="Tag an event (needs events.annotate; staff only)",
             description="A tag the event already has is not stored again: the answer is "
             "the stored tag, with status 200 instead of 201.",
             responses={200: {"description": "The event already had this tag"}})
async def add_tag(request: Request, event_id: str, body: NewTag) -> JsonResponse:
    principal = await authenticate(request, "events.annotate")
    context = request_context(request)
    made, created = await run_in_threadpool(
        _tb(request).annotations.tag, principal, event_id, body.tag, context)
    return JsonResponse(tag_json(made), status_code=201 if created else 200)
