"""/api/v1/auth and /api/v1/sessions: signing in and out, one's own password, and
listing and ending sessions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import SESSION_COOKIE, caller, request_context
from trailbook.api.render import JsonResponse
from trailbook.model.timefmt import format_us
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.store.records import Session

router = APIRouter(prefix="/api/v1", tags=["sign-in and sessions"])
NO_KEY: dict[str, Any] = {"security": []}


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


def session_json(session: Session, current: Session | None = None) -> dict[str, Any]:
    return {
        "id": session.id, "user_id": session.user_id,
        "created_at": format_us(session.created_us),
        "last_seen_at": format_us(session.last_seen_us),
        "expires_at": format_us(session.expires_us),
        "ip": session.ip, "user_agent": session.user_agent,
        "current": current is not None and current.id == session.id,
    }


def me_json(principal: Principal) -> dict[str, Any]:
    user = principal.user
    assert user is not None and principal.session is not None
    return {
        "user": {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
                 "must_change_password": user.must_change_password},
        "tenant": principal.tenant.name,
        "permissions": sorted(principal.permissions),
        "categories": None if principal.categories is None else list(principal.categories),
        "session": session_json(principal.session, principal.session),
        "csrf_token": principal.session.csrf_token,
    }


@router.post("/auth/login", summary="Sign in with email and password",
             openapi_extra=NO_KEY, description=(
                 "Sets the `trailbook_session` cookie (HttpOnly, SameSite=Lax, Secure "
                 "over HTTPS) and answers with the session's `csrf_token`, which every "
                 "request that changes something must send as `X-CSRF-Token`. After 5 "
                 "failed sign-ins for an account, or 20 from one address, within 15 "
                 "minutes, attempts are refused (429) for a growing interval."))
async def login(request: Request, body: Login) -> Response:
    tb: Trailbook = request.app.state.trailbook
    context = request_context(request)
    token, principal = await run_in_threadpool(tb.sessions.login, body.email,
                                               body.password, context)
    answer = JsonResponse(me_json(principal))
    answer.set_cookie(
        SESSION_COOKIE, token, max_age=int(tb.settings.session_absolute_seconds),
        httponly=True, samesite="lax", path="/",
        secure=request.url.scheme == "https")
    return answer


@router.post("/auth/logout", status_code=204, summary="Sign out (ends this session)")
async def logout(request: Request) -> Response:
    tb: Trailbook = request.app.state.trailbook
    principal = await caller(request)
    await run_in_threadpool(tb.sessions.logout, principal, request_context(request))
    answer = Response(status_code=204)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


@router.get("/auth/me", summary="Who is signed in: user, role, permissions, CSRF token")
async def me(request: Request) -> JsonResponse:
    principal = await caller(request)
    if principal.user is None:
        key = principal.key
        assert key is not None
        return JsonResponse({"api_key": {"id": key.id, "name": key.name,
                                         "scopes": list(key.scopes)},
                             "tenant": principal.tenant.name,
                             "permissions": sorted(principal.permissions)})
    return JsonResponse(me_json(principal))


@router.post("/auth/password", status_code=204,
             summary="Change your own password (other sessions of yours end)")
async def change_password(request: Request, body: PasswordChange) -> Response:
    tb: Trailbook = request.app.state.trailbook
    principal = await caller(request)
    await run_in_threadpool(tb.users.change_own_password, principal, body.current_password,
                            body.new_password, request_context(request))
    return Response(status_code=204)


@router.get("/sessions", summary="Your live sessions; with all=true, the tenant's "
            "(needs users.manage)")
async def list_sessions(
    request: Request,
    all: Annotated[bool, Query(description="every user's sessions")] = False,
) -> JsonResponse:
    tb: Trailbook = request.app.state.trailbook
    principal = await caller(request)
    found = await run_in_threadpool(lambda: tb.sessions.live(principal, everyone=all))
    return JsonResponse({"sessions": [session_json(s, principal.session) for s in found]})


@router.delete("/sessions/{session_id}", status_code=204,
               summary="End a session: your own, or anyone's (needs users.manage)")
async def revoke_session(request: Request, session_id: str) -> Response:
    tb: Trailbook = request.app.state.trailbook
    principal = await caller(request)
    context = request_context(request)
    await run_in_threadpool(tb.sessions.revoke, principal, session_id, context)
    return Response(status_code=204)
