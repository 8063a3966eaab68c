"""The alerts page (``rules.manage``): the tenant's rules and channels with forms to
add them, a test button per channel, and the outbox with its dead letters and a retry
button. Reads go through the service layer; the buttons and forms call the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.api.alerts import delivery_json, rule_json
from trailbook.notify.grouping import GROUP_FIELDS
from trailbook.service.alerts.admin import PERMISSION, channel_view
from trailbook.service.app import Trailbook
from trailbook.web.guard import PageRoute, page_principal
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
DELIVERIES_SHOWN = 50
STATES = ("pending", "delivered", "dead")


@router.get("/admin/alerts")
async def alerts_page(request: Request) -> Response:
    principal = await page_principal(request, PERMISSION)
    tb: Trailbook = request.app.state.trailbook
    state = request.query_params.get("state")
    state = state if state in STATES else None

    def work() -> dict[str, Any]:
        tenant = principal.tenant
        names = tb.alerts.channel_names(tenant)
        return {
            "rules": [rule_json(r, names) for r in tb.alerts.rules(principal, tenant)],
            "channels": [channel_view(c) for c in tb.alerts.channels(principal, tenant)],
            "deliveries": [delivery_json(d, names) for d in tb.alerts.deliveries(
                principal, tenant, state, DELIVERIES_SHOWN)],
            "counts": tb.alerts.counts(principal, tenant),
        }

    shown = await run_in_threadpool(work)
    return render(request, "alerts.html", principal, active="alerts", title="Alerts",
                  state=state, states=STATES, group_fields=GROUP_FIELDS,
                  default_quiet=tb.settings.alert_default_quiet_seconds, **shown)
