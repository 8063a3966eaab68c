"""/api/v1/saved-searches: a staff user's own named searches (needs events.read; API
keys have none). Each answer carries ``url``, the console page that runs it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import authenticate
from trailbook.api.render import JsonResponse
from trailbook.service.app import Trailbook
from trailbook.store.records import SavedSearch

router = APIRouter(prefix="/api/v1", tags=["saved searches"])

# Generous bounds on what is read at all; the service says what a saved search may
# hold (a name of 1-100 characters, a query of 2,000, 50 parameter values).
Params = dict[str, list[str] | str]


class NewSavedSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=1000, description="1-100 characters, yours alone "
                      "(names ignore case)")
    query: str = Field(max_length=10_000, description="the query language; may be empty")
    params: Params = Field(default_factory=dict, max_length=100, description=(
        "the other filter parameters of GET /api/v1/events, each a value or a list"))


class SavedSearchChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=1000)
    query: str | None = Field(default=None, max_length=10_000)
    params: Params | None = Field(default=None, max_length=100,
                                  description="replaces the parameters whole")


def console_url(saved: SavedSearch) -> str:
    """The logs page that runs ``saved``."""
    items = [("query", saved.query)] if saved.query else []
    items += [(key, value) for key, values in saved.params.items() for value in values]
    return f"/logs?{urlencode(items)}" if items else "/logs"


def saved_json(saved: SavedSearch) -> dict[str, Any]:
    return {"id": saved.id, "name": saved.name, "query": saved.query,
            "params": saved.params, "created_at": saved.created_at,
            "updated_at": saved.updated_at, "url": console_url(saved)}


def _tb(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


@router.get("/saved-searches", summary="Your saved searches, by name (needs events.read)")
async def list_saved(request: Request) -> JsonResponse:
    principal = await authenticate(request, "events.read")
    found = await run_in_threadpool(_tb(request).saved_searches.list, principal)
    return JsonResponse({"saved_searches": [saved_json(s) for s in found]})


@router.post("/saved-searches", status_code=201,
             summary="Save a search under a name of yours (needs events.read)")
async def add_saved(request: Request, body: NewSavedSearch) -> JsonResponse:
    principal = await authenticate(request, "events.read")
    saved = await run_in_threadpool(
        lambda: _tb(request).saved_searches.save(principal, body.name, body.query,
                                                 body.params))
    return JsonResponse(saved_json(saved), status_code=201)


@router.get("/saved-searches/{search_id}", summary="One of your saved searches "
            "(needs events.read)")
async def get_saved(request: Request, search_id: int) -> JsonResponse:
    principal = await authenticate(request, "events.read")
    saved = await run_in_threadpool(_tb(request).saved_searches.get, principal, search_id)
    return JsonResponse(saved_json(saved))


@router.patch("/saved-searches/{search_id}", summary="Rename one of your saved searches "
              "or change what it searches (needs events.read)")
async def change_saved(request: Request, search_id: int,
                       body: SavedSearchChange) -> JsonResponse:
    principal = await authenticate(request, "events.read")
    saved = await run_in_threadpool(
        lambda: _tb(request).saved_searches.update(principal, search_id, name=body.name,
                                                   query=body.query, params=body.params))
    return JsonResponse(saved_json(saved))


@router.delete("/saved-searches/{search_id}", status_code=204,
               summary="Delete one of your saved searches (needs events.read)")
async def delete_saved(request: Request, search_id: int) -> Response:
    principal = await authenticate(request, "events.read")
    await run_in_threadpool(_tb(request).saved_searches.delete, principal, search_id)
    return Response(status_code=204)
