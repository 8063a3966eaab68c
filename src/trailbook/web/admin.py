"""The access page (sign-ins and sessions) and the administration pages: users, roles,
API keys and integrity. They read through the service layer; their buttons and forms
call the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import request_context
from trailbook.query.filters import EventFilter
from trailbook.service.access.permissions import ALL_CATEGORIES, PERMISSIONS
from trailbook.service.app import Trailbook
from trailbook.web.guard import PageRoute, page_principal
from trailbook.web.logs import event_row
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SIGN_INS_SHOWN = 100
CHECKPOINTS_SHOWN = 100
SIGN_IN_ACTIONS = EventFilter(categories=("access",), action_prefixes=("auth",))


def _tb(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


@router.get("/access")
async def access_page(request: Request) -> Response:
    principal = await page_principal(request)
    tb = _tb(request)
    context = request_context(request)
    masked = not principal.sees_personal_data
    sees_sign_ins = principal.can("events.read") and principal.may_read_category("access")
    manages = principal.can("users.manage")

    def work() -> dict[str, Any]:
        emails = {u.id: u.email for u in tb.users.all(principal.tenant)} if manages else {}
        sign_ins: list[dict[str, Any]] = []
        if sees_sign_ins:
            page = tb.reads.search(principal, SIGN_IN_ACTIONS, None, SIGN_INS_SHOWN,
                                   context=context, query="category:access action:auth.*")
            sign_ins = [event_row(e, masked) for e in page.events]
        return {
            "own_sessions": tb.sessions.live(principal, everyone=False),
            "all_sessions": tb.sessions.live(principal, everyone=True) if manages else None,
            "emails": emails, "sign_ins": sign_ins,
        }

    shown = await run_in_threadpool(work)
    return render(request, "access.html", principal, active="access", title="Access",
                  sees_sign_ins=sees_sign_ins, masked=masked,
                  current_session=principal.session.id if principal.session else "",
                  **shown)


@router.get("/admin/users")
async def users_page(request: Request) -> Response:
    principal = await page_principal(request, "users.manage")
    tb = _tb(request)

    def work() -> dict[str, Any]:
        return {"users": tb.users.all(principal.tenant),
                "roles": [r.name for r in tb.roles.all(principal.tenant)]}

    shown = await run_in_threadpool(work)
    return render(request, "users.html", principal, active="users", title="Users", **shown)


@router.get("/admin/roles")
async def roles_page(request: Request) -> Response:
    principal = await page_principal(request)
    if not principal.can("users.manage"):
        principal.require("roles.manage")
    tb = _tb(request)

    def work() -> dict[str, Any]:
        return {"roles": tb.roles.all(principal.tenant),
                "categories": tb.tenants.categories(principal.tenant)}

    shown = await run_in_threadpool(work)
    return render(request, "roles.html", principal, active="roles", title="Roles",
                  permissions=PERMISSIONS, all_categories=ALL_CATEGORIES,
                  can_edit=principal.can("roles.manage"), **shown)


@router.get("/admin/keys")
async def keys_page(request: Request) -> Response:
    principal = await page_principal(request, "keys.manage")
    tb = _tb(request)
    keys = await run_in_threadpool(tb.keys.for_tenant, principal.tenant)
    return render(request, "keys.html", principal, active="keys", title="API keys",
                  keys=keys)


@router.get("/admin/integrity")
async def integrity_page(request: Request) -> Response:
    principal = await page_principal(request, "integrity.verify")
    tb = _tb(request)

    def work() -> dict[str, Any]:
        checkpoints = tb.integrity.checkpoints(principal.tenant)
        return {
            "checkpoints": list(reversed(checkpoints))[:CHECKPOINTS_SHOWN],
            "checkpoint_count": len(checkpoints),
            "head": tb.integrity.head(principal.tenant),
            "last": tb.integrity.last_verification(principal.tenant),
            "public_key": tb.integrity.public_keys()[0],
        }

    shown = await run_in_threadpool(work)
    return render(request, "integrity.html", principal, active="integrity",
                  title="Integrity", **shown)
