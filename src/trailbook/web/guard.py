"""Who is looking at a page, and what a page shows when it cannot be shown.

Pages are for staff on a session: without one the browser is sent to the sign-in
page (and back afterwards); a missing permission answers a 403 page, audited like
any refusal; a user holding a one-time password is sent to choose their own."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from trailbook.api.auth import SESSION_COOKIE, audit_denied
from trailbook.errors import Forbidden, NotFound, TrailbookError, Unauthenticated
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.web.render import render

log = logging.getLogger("trailbook.web")
PASSWORD_PAGE = "/account/password"


class SignInNeeded(Exception):
    """The page needs a signed-in user; answered with a redirect to /login."""


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    answer = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if SESSION_COOKIE in request.cookies:  # expired or revoked: forget it
        answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


async def page_principal(request: Request, permission: str | None = None, *,
                         before_password: bool = False) -> Principal:
    """The signed-in staff user, holding ``permission`` if one is named. Only what
    ``before_password`` allows (signing out) is open to a one-time password."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise SignInNeeded()
        tb: Trailbook = request.app.state.trailbook
        try:
            known = await run_in_threadpool(tb.sessions.authenticate, token)
        except Unauthenticated:
            raise SignInNeeded() from None
        request.state.principal = known
    assert known.user is not None
    if (known.user.must_change_password and request.url.path != PASSWORD_PAGE
            and not before_password):
        raise MustChangePassword()
    if permission is not None:
        known.require(permission)
    return known


class MustChangePassword(Exception):
    """The user holds a one-time password; every page but the password page waits."""


def check_form_csrf(principal: Principal, sent: str | None) -> None:
    """A form that changes something carries the session's token."""
    assert principal.session is not None
    if not sent or not secrets.compare_digest(sent.encode(),
                                              principal.session.csrf_token.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")


class PageRoute(APIRoute):
    """A route answering HTML: service errors become pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return sign_in_redirect(request)
            except MustChangePassword:
                return RedirectResponse(PASSWORD_PAGE, status_code=303)
            except TrailbookError as exc:
                return await error_page(request, exc)

        return answer


async def error_page(request: Request, exc: TrailbookError) -> Response:
    if isinstance(exc, Forbidden):
        try:
            await audit_denied(request, exc)
        except TrailbookError as failed:
            log.error("could not audit a refusal: %s", failed.one_line())
    principal: Principal | None = getattr(request.state, "principal", None)
    heading = {403: "Not allowed", 404: "Not found", 429: "Too many attempts"}.get(
        exc.status, "Something went wrong")
    if isinstance(exc, NotFound):
        heading = "Not found"
    return render(request, "error.html", principal, status=exc.status, title=heading,
                  heading=heading, message=exc.message, details=exc.details)
