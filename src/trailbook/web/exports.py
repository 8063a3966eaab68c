"""The exports page: the signed-in user's background export jobs, their progress, and
their files and manifests to download once done. Its buttons call the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.api.exports import job_json
from trailbook.service.app import Trailbook
from trailbook.web.guard import PageRoute, page_principal
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/exports")
async def exports_page(request: Request) -> Response:
    principal = await page_principal(request, "events.export")
    tb: Trailbook = request.app.state.trailbook
    jobs = await run_in_threadpool(tb.export_jobs.list, principal)
    return render(request, "exports.html", principal, active="exports", title="Exports",
                  jobs=[job_json(j) for j in jobs], chosen=request.query_params.get("job"),
                  threshold=tb.settings.export_background_rows)
