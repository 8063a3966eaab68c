"""Signing in and out of the console, and choosing one's own password."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from trailbook.api.auth import SESSION_COOKIE, request_context
from trailbook.errors import RateLimited, TrailbookError
from trailbook.service.app import Trailbook
from trailbook.web.guard import PASSWORD_PAGE, PageRoute, check_form_csrf, page_principal
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# A cookie-bound token on the sign-in form: another site cannot sign a browser in to
# an account of its choosing (login CSRF).
LOGIN_TOKEN_COOKIE = "trailbook_login_token"
HOME = "/logs"


def safe_next(target: str | None) -> str:
    """Only a path on this site, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


def _login_page(request: Request, *, next_path: str, email: str = "", error: str = "",
                status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    answer = render(request, "login.html", None, status=status, title="Sign in",
                    next_path=next_path, email=email, error=error, login_token=token)
    answer.set_cookie(LOGIN_TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                      secure=request.url.scheme == "https")
    return answer


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
    login_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_TOKEN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), login_token.encode()):
        return _login_page(request, next_path=next_path, email=email, status=403,
                           error="The sign-in form expired. Please try again.")
    if not email.strip() or not password:
        return _login_page(request, next_path=next_path, email=email, status=422,
                           error="Enter your email and password.")
    tb: Trailbook = request.app.state.trailbook
    try:
        token, principal = await run_in_threadpool(
            tb.sessions.login, email, password, request_context(request))
    except RateLimited as exc:
        return _login_page(request, next_path=next_path, email=email, status=429,
                           error=f"{exc.message} Try again in {exc.retry_after} s.")
    except TrailbookError as exc:
        return _login_page(request, next_path=next_path, email=email, status=exc.status,
                           error=exc.message)
    assert principal.user is not None
    target = PASSWORD_PAGE if principal.user.must_change_password else next_path
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(SESSION_COOKIE, token, max_age=int(tb.settings.session_absolute_seconds),
                      httponly=True, samesite="lax", path="/",
                      secure=request.url.scheme == "https")
    answer.delete_cookie(LOGIN_TOKEN_COOKIE, path="/login")
    return answer


@router.post("/logout")
async def logout(request: Request,
                 csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    principal = await page_principal(request, before_password=True)
    check_form_csrf(principal, csrf_token)
    tb: Trailbook = request.app.state.trailbook
    await run_in_threadpool(tb.sessions.logout, principal, request_context(request))
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


@router.get(PASSWORD_PAGE)
async def password_form(request: Request) -> Response:
    principal = await page_principal(request)
    return render(request, "password.html", principal, title="Your password",
                  forced=bool(principal.user and principal.user.must_change_password))


@router.get("/")
async def home(request: Request) -> Response:
    return RedirectResponse(HOME, status_code=303)
