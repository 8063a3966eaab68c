"""Django middleware: the request's audit context and its ``access`` event.

Put it after ``AuthenticationMiddleware`` so that ``request.user`` is known::

    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "trailbook.integrations.django.middleware.TrailbookMiddleware", ...]

Sets ``trailbook.context(actor=<the signed-in user or anonymous>, ip=<client IP through
TRUSTED_PROXIES>, user_agent=..., request_id=<X-Request-ID or a new id>)`` while the
view runs, so model events and the application's own ``client.log`` calls name them;
adds ``X-Request-ID`` to the response (also in ``request.trailbook_request_id``); logs
``http.request`` unless ``LOG_REQUESTS`` is False or the path is in ``SKIP_PATHS``.
Works in sync and async stacks."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from trailbook.integrations._request import (
    REQUEST_ID_HEADER,
    log_access,
    request_context,
    request_id_from,
    user_agent_from,
)
from trailbook.integrations.django.conf import config, get_client
from trailbook.integrations.proxies import client_ip


def actor_of(user: Any) -> dict[str, Any] | None:
    """A Django user as an event actor, or None when not signed in."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    actor: dict[str, Any] = {"id": str(user.pk)}
    try:
        username = user.get_username()
    except Exception:
        username = None
    if username:
        actor["name"] = str(username)[:256]
    email = getattr(user, "email", None)
    if isinstance(email, str) and email.count("@") == 1 and " " not in email \
            and len(email) <= 320 and not email.startswith("@") and not email.endswith("@"):
        actor["email"] = email
    return actor


def _ip(request: Any) -> str | None:
    meta = request.META
    return client_ip(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"),
                     config().trusted_proxies)


class TrailbookMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        request_id = self._request_id(request)
        actor = actor_of(getattr(request, "user", None))
        status = 500
        with self._context(request, actor, request_id):
            try:
                response = self.get_response(request)
                status = response.status_code
            finally:
                self._access(request, status, started,
                             actor_of(getattr(request, "user", None)) or actor)
        return self._tag(response, request_id)

    async def _acall(self, request: Any) -> Any:
        started = time.perf_counter()
        request_id = self._request_id(request)
        actor = await self._auser(request)
        status = 500
        with self._context(request, actor, request_id):
            try:
                response = await self._get_async(request)
                status = response.status_code
            finally:
                self._access(request, status, started, await self._auser(request) or actor)
        return self._tag(response, request_id)

    def _get_async(self, request: Any) -> Awaitable[Any]:
        result: Awaitable[Any] = self.get_response(request)
        return result

    @staticmethod
    async def _auser(request: Any) -> dict[str, Any] | None:
        auser = getattr(request, "auser", None)
        if auser is None:
            return actor_of(getattr(request, "user", None))
        return actor_of(await auser())

    @staticmethod
    def _request_id(request: Any) -> str:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.trailbook_request_id = request_id
        return request_id

    @staticmethod
    def _context(request: Any, actor: dict[str, Any] | None, request_id: str) -> Any:
        return request_context(actor=actor, request_id=request_id, ip=_ip(request),
                               user_agent=user_agent_from(request.META.get("HTTP_USER_AGENT")))

    @staticmethod
    def _access(request: Any, status: int, started: float,
                actor: dict[str, Any] | None) -> None:
        conf = config()
        if conf.log_requests and request.path not in conf.skip_paths:
            log_access(get_client(), method=request.method or "GET", path=request.path,
                       status=status, duration_s=time.perf_counter() - started, actor=actor)

    @staticmethod
    def _tag(response: Any, request_id: str) -> Any:
        if REQUEST_ID_HEADER not in response:
            response[REQUEST_ID_HEADER] = request_id
        return response
