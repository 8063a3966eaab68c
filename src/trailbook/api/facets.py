"""/api/v1/facets: the total, counts by field and a time histogram for a search."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import authenticate, request_context
from trailbook.api.search_params import filter_params, search_params
from trailbook.model.timefmt import format_us
from trailbook.query.language import combine
from trailbook.service.app import Trailbook
from trailbook.service.facets import Facet, Histogram, Total
from trailbook.store.records import FACET_FIELDS

router = APIRouter(prefix="/api/v1", tags=["events"])
_OWN = ("query", "fields", "top", "budget_ms", "histogram")


def _total(total: Total) -> dict[str, Any]:
    out: dict[str, Any] = {"count": total.count, "exact": total.exact}
    if total.timed_out:
        out["timed_out"] = True
    return out


def _facet(facet: Facet) -> dict[str, Any]:
    return {"values": [{"value": v.value, "count": v.count} for v in facet.values],
            "sampled": facet.sampled, "timed_out": facet.timed_out}


def _histogram(histogram: Histogram | None) -> dict[str, Any] | None:
    if histogram is None:
        return None
    return {
        "bucket_seconds": histogram.bucket_us // 1_000_000,
        "from": format_us(histogram.from_us), "to": format_us(histogram.to_us),
        "buckets": [{"start": format_us(s), "count": n} for s, n in histogram.buckets],
        "timed_out": histogram.timed_out,
    }


@router.get(
    "/facets",
    summary="Total, facets and time histogram of a search. Needs the `read` scope.",
    description=(
        "Takes every filter parameter of `GET /api/v1/events` and `query`. The total is "
        "exact up to 10,000 matches and an estimate (`exact: false`) past that. Each "
        "part has the time budget `budget_ms`; a part that runs out answers "
        "`timed_out: true` instead of failing the request."),
)
async def get_facets(
    request: Request,
    query: Annotated[str | None, Depends(search_params)] = None,
    fields: Annotated[str | None, Query(
        description=f"facets to count, comma-separated (default: {','.join(FACET_FIELDS)})"
    )] = None,
    top: Annotated[int, Query(ge=1, le=100, description="values per facet")] = 10,
    budget_ms: Annotated[int, Query(ge=10, le=30_000,
                                    description="time budget of each part")] = 500,
    histogram: Annotated[bool, Query(description="include the time histogram")] = True,
) -> Response:
    principal = await authenticate(request, "events.read")
    context = request_context(request)
    tb: Trailbook = request.app.state.trailbook
    params = filter_params(request, *_OWN)
    chosen = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields else (
        FACET_FIELDS)

    def work() -> bytes:
        flt = combine(query, params)
        summary = tb.reads.summary(principal, flt, chosen, top, budget_ms,
                                   histogram=histogram, context=context, query=query)
        body = {
            "total": _total(summary.total),
            "facets": {f.field: _facet(f) for f in summary.facets},
            "histogram": _histogram(summary.histogram) if histogram else None,
        }
        return orjson.dumps(body)

    return Response(await run_in_threadpool(work), media_type="application/json")
