"""Who is calling: an API key (``Authorization: Bearer <key>`` or ``X-API-Key``) or a
staff session (the ``trailbook_session`` cookie, with the ``X-CSRF-Token`` header on
every request that changes something). Refusals for lack of a permission are audited."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from trailbook.errors import ErrorDetail, Forbidden, Unauthenticated
from trailbook.service.access.audit import RequestContext
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook

SESSION_COOKIE = "trailbook_session"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/api/v1/auth/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a user holding a one-time password may do before choosing their own.
PASSWORD_CHANGE_PATHS = frozenset({"/api/v1/auth/me", "/api/v1/auth/password",
                                   "/api/v1/auth/logout"})


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(
                "unsupported Authorization header",
                [ErrorDetail("authorization", "use 'Authorization: Bearer <key>'")],
            )
        return value.strip()
    return request.headers.get("x-api-key")


def client_ip(request: Request) -> str | None:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:  # a test client, or a Unix socket
        return None


def request_context(request: Request) -> RequestContext:
    return RequestContext(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        request_id=(request.headers.get("x-request-id") or "")[:128] or None,
    )


def check_csrf(request: Request, principal: Principal) -> None:
    """A request that changes something on a session must carry the session's token
    (a page from another site cannot read it, so cannot send it)."""
    if request.method in SAFE_METHODS or principal.session is None:
        return
    sent = request.headers.get(CSRF_HEADER) or ""
    if not secrets.compare_digest(sent.encode(), principal.session.csrf_token.encode()):
        raise Forbidden("the CSRF token is missing or wrong",
                        [ErrorDetail(CSRF_HEADER, "send the csrf_token of your session "
                                                  "(GET /api/v1/auth/me)")])


async def csrf_guard(request: Request) -> None:
    """Runs before a request's body is read: a change made on a session cookie is
    refused without the session's CSRF token, whatever the body holds."""
    if (request.method in SAFE_METHODS or request.url.path == LOGIN_PATH
            or not request.url.path.startswith("/api/")  # pages check their forms' token
            or SESSION_COOKIE not in request.cookies
            or "authorization" in request.headers or "x-api-key" in request.headers):
        return
    await caller(request)


async def caller(request: Request) -> Principal:
    """The authenticated caller, whatever they may do."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    tb: Trailbook = request.app.state.trailbook
    secret = bearer_secret(request)
    if secret is not None:
        principal: Principal = await run_in_threadpool(tb.keys.authenticate, secret)
        request.state.principal = principal
        return principal
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated(
            "sign in, or send an API key",
            [ErrorDetail("authorization", "send 'Authorization: Bearer <key>' or sign in "
                                          "at POST /api/v1/auth/login")])
    principal = await run_in_threadpool(tb.sessions.authenticate, token)
    request.state.principal = principal
    check_csrf(request, principal)
    assert principal.user is not None
    if principal.user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise Forbidden("choose your own password first",
                        [ErrorDetail("password", "POST /api/v1/auth/password with the "
                                                 "one-time password and a new one")])
    return principal


async def authenticate(request: Request, permission: str) -> Principal:
    """The caller, if they hold ``permission`` (a refusal is audited by the error
    handler, as every 403 of a known caller is)."""
    principal = await caller(request)
    principal.require(permission)
    return principal


async def audit_denied(request: Request, refused: Forbidden) -> None:
    """Record a refusal of a known caller in their tenant's trail."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return
    tb: Trailbook = request.app.state.trailbook
    metadata: dict[str, object] = {"method": request.method, "path": request.url.path}
    if refused.permission:
        metadata["permission"] = refused.permission
    await run_in_threadpool(
        tb.audit.access, principal, request_context(request), "access.denied", "permission",
        result="failure", severity="warning", reason=refused.one_line(), metadata=metadata)


T = TypeVar("T")


def trailbook_of(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


async def run_as(request: Request, permission: str,
                 work: Callable[[Trailbook, Principal], T]) -> T:
    """Sign the caller in, requiring ``permission``; then run ``work`` with the service
    and the caller, off the event loop (the service layer blocks)."""
    principal = await authenticate(request, permission)
    return await run_in_threadpool(work, trailbook_of(request), principal)
