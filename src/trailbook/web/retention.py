"""The retention page (``retention.manage``): how long each category's events are kept
(with a form to set a policy and a button to remove one), the legal holds (a form to
place one, a release form with its reason per active hold, the released ones listed),
and the recent purge runs with a "Run now" button. Reads go through the service
layer; the forms and buttons call the JSON API (/api/v1/retention), and the runs are
read from it by the page's script."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.service.app import Trailbook
from trailbook.service.retention.rules import (
    DEFAULT_CATEGORY,
    MAX_DAYS,
    PERMISSION,
    categories_view,
    hold_view,
    policy_view,
)
from trailbook.web.guard import PageRoute, page_principal
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/admin/retention")
async def retention_page(request: Request) -> Response:
    principal = await page_principal(request, PERMISSION)
    tb: Trailbook = request.app.state.trailbook

    def work() -> dict[str, Any]:
        tenant = principal.tenant
        policies = tb.retention_rules.list_policies(principal, tenant)
        holds = [hold_view(h) for h in tb.retention_rules.list_holds(principal, tenant)]
        own = {p.category: policy_view(p) for p in policies}
        return {
            "default_policy": own.get(DEFAULT_CATEGORY),
            "own": own,
            "categories": categories_view(tenant, policies),
            "active_holds": [h for h in holds if h["active"]],
            "released_holds": [h for h in holds if not h["active"]],
        }

    shown = await run_in_threadpool(work)
    return render(request, "retention.html", principal, active="retention",
                  title="Retention", max_days=MAX_DAYS, **shown)
