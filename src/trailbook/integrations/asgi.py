"""ASGI middleware (FastAPI, Starlette, any ASGI 3 app).

    from trailbook.integrations.asgi import TrailbookMiddleware
    app.add_middleware(TrailbookMiddleware, client=client, trusted_proxies=["10.0.0.0/8"])

For each HTTP request it sets ``trailbook.context(...)`` (actor, client IP, user agent,
request id) around the application, so every ``client.log`` made while handling the
request carries them, echoes the request id in an ``X-Request-ID`` response header, and
(``log_requests=True``) logs an ``access`` event ``http.request`` with the method, path,
status and duration, except for ``skip_paths``. Lifespan and WebSocket traffic passes
through untouched. Imports no web framework."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from trailbook.integrations._request import (
    REQUEST_ID_HEADER,
    Actor,
    SkipPaths,
    SupportsLog,
    log_access,
    logger,
    request_context,
    request_id_from,
    user_agent_from,
)
from trailbook.integrations.proxies import TrustedProxies, client_ip

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
UserGetter = Callable[[Scope], "Actor | Awaitable[Actor | None] | None"]

__all__ = ["TrailbookMiddleware", "default_user", "scope_client_ip"]


def default_user(scope: Scope) -> Actor | None:
    """The actor from Starlette's ``AuthenticationMiddleware`` (``scope["user"]``), if a
    user is signed in: id from ``identity``, name from ``display_name``."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        identity = str(user.identity)
    except NotImplementedError:
        identity = str(getattr(user, "display_name", "") or "")
    if not identity:
        return None
    actor: dict[str, Any] = {"id": identity}
    name = getattr(user, "display_name", None)
    if name:
        actor["name"] = str(name)
    return actor


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ())
            if key.lower() == name]


def _header(scope: Scope, name: bytes) -> str | None:
    values = _header_values(scope, name)
    return values[0] if values else None


def scope_client_ip(scope: Scope, trusted: TrustedProxies) -> str | None:
    """The client's address from the ASGI scope's peer and ``X-Forwarded-For``."""
    peer = scope.get("client")
    host = peer[0] if peer else None
    return client_ip(host, _header_values(scope, b"x-forwarded-for"), trusted)


class TrailbookMiddleware:
    """``TrailbookMiddleware(app, client, *, trusted_proxies=(), log_requests=True,
    skip_paths=("/health",), user=default_user)``.

    ``user(scope)`` returns the actor (``{"id": ..., "name": ..., "email": ...}``) or
    None for an anonymous request; it may be a coroutine function. It is called once
    before the application runs and once more after it, so that a user identified
    by an inner middleware or the endpoint itself (setting ``scope["user"]``, say)
    is the actor of the access event."""

    def __init__(self, app: ASGIApp, client: SupportsLog, *,
                 trusted_proxies: TrustedProxies | Iterable[str] | str = (),
                 log_requests: bool = True, skip_paths: Iterable[str] = ("/health",),
                 user: UserGetter | None = None) -> None:
        self.app = app
        self.client = client
        self.trusted = TrustedProxies.of(trusted_proxies)
        self.log_requests = log_requests
        self.skip_paths = SkipPaths(skip_paths)
        self.user: UserGetter = user or default_user

    async def _actor(self, scope: Scope) -> Actor | None:
        try:
            found = self.user(scope)
            if inspect.isawaitable(found):
                found = await found
            return found
        except Exception:
            logger.warning("the user callable failed; the request is anonymous",
                           exc_info=True)
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(_header(scope, b"x-request-id"))
        actor = await self._actor(scope)
        status = [500]
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                headers = list(message.get("headers", ()))
                if not any(key.lower() == header[0] for key, _ in headers):
                    headers.append(header)
                message["headers"] = headers
            await send(message)

        with request_context(actor=actor, request_id=request_id,
                             ip=scope_client_ip(scope, self.trusted),
                             user_agent=user_agent_from(_header(scope, b"user-agent"))):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                path = str(scope.get("path", "") or "/")
                if self.log_requests and path not in self.skip_paths:
                    log_access(self.client, method=str(scope.get("method", "GET")),
                               path=path, status=status[0],
                               duration_s=time.perf_counter() - started,
                               actor=await self._actor(scope) or actor)
