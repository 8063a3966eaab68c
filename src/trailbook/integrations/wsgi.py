"""WSGI middleware (Flask, any WSGI app).

    from trailbook.integrations.wsgi import TrailbookMiddleware
    app.wsgi_app = TrailbookMiddleware(app.wsgi_app, client, trusted_proxies=["10.0.0.0/8"])

The WSGI twin of ``trailbook.integrations.asgi``: per request it sets
``trailbook.context(...)`` (actor, client IP, user agent, request id) while the
application runs and while its response body is produced, adds an ``X-Request-ID``
response header, and logs an ``access`` event ``http.request`` when the response is
closed (so the duration covers a streamed body too), except for ``skip_paths``.
Imports no web framework."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping
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

Environ = MutableMapping[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
UserGetter = Callable[[Environ], "Actor | None"]

ENVIRON_KEY = "trailbook.request_id"

__all__ = ["ENVIRON_KEY", "TrailbookMiddleware", "environ_client_ip", "remote_user"]


def remote_user(environ: Environ) -> Actor | None:
    """The default ``user``: the server's ``REMOTE_USER`` (HTTP auth done by the
    front server), else anonymous."""
    name = environ.get("REMOTE_USER")
    return {"id": str(name), "name": str(name)} if name else None


def environ_client_ip(environ: Environ, trusted: TrustedProxies) -> str | None:
    """The client's address from ``REMOTE_ADDR`` and ``HTTP_X_FORWARDED_FOR``."""
    return client_ip(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"),
                     trusted)


class TrailbookMiddleware:
    """``TrailbookMiddleware(app, client, *, trusted_proxies=(), log_requests=True,
    skip_paths=("/health",), user=remote_user)``.

    ``user(environ)`` returns the actor or None (anonymous); it is called before the
    application runs and again when the response is closed (the access event's
    actor), so an application may also put its signed-in user into
    ``environ["trailbook.user"]`` for the access event. The request id is in
    ``environ["trailbook.request_id"]``."""

    def __init__(self, app: WSGIApp, client: SupportsLog, *,
                 trusted_proxies: TrustedProxies | Iterable[str] | str = (),
                 log_requests: bool = True, skip_paths: Iterable[str] = ("/health",),
                 user: UserGetter | None = None) -> None:
        self.app = app
        self.client = client
        self.trusted = TrustedProxies.of(trusted_proxies)
        self.log_requests = log_requests
        self.skip_paths = SkipPaths(skip_paths)
        self.user: UserGetter = user or remote_user

    def _actor(self, environ: Environ) -> Actor | None:
        set_by_app = environ.get("trailbook.user")
        if set_by_app:
            return dict(set_by_app)
        try:
            return self.user(environ)
        except Exception:
            logger.warning("the user callable failed; the request is anonymous",
                           exc_info=True)
            return None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id
        actor = self._actor(environ)
        status = [500]

        def start_with_id(status_line: str, headers: list[tuple[str, str]],
                          exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            if not any(key.lower() == "x-request-id" for key, _ in headers):
                headers = [*headers, (REQUEST_ID_HEADER, request_id)]
            return start_response(status_line, headers, exc_info)

        # One Context per request: the trailbook context is entered and left in it,
        # whichever thread the server iterates the body in.
        ctx = contextvars.copy_context()
        scope = request_context(actor=actor, request_id=request_id,
                                ip=environ_client_ip(environ, self.trusted),
                                user_agent=user_agent_from(environ.get("HTTP_USER_AGENT")))
        ctx.run(scope.__enter__)

        def finish() -> None:
            try:
                path = str(environ.get("PATH_INFO", "") or "/")
                if self.log_requests and path not in self.skip_paths:
                    log_access(self.client, method=str(environ.get("REQUEST_METHOD", "GET")),
                               path=str(environ.get("SCRIPT_NAME", "")) + path,
                               status=status[0], duration_s=time.perf_counter() - started,
                               actor=self._actor(environ) or actor)
            finally:
                scope.__exit__(None, None, None)

        try:
            body = ctx.run(self.app, environ, start_with_id)
        except BaseException:
            ctx.run(finish)
            raise
        return _ClosingBody(body, ctx, finish)


class _ClosingBody:
    """The application's body, produced inside the request's Context; logs the access
    event on ``close()``, as WSGI servers must call it."""

    def __init__(self, body: Iterable[bytes], ctx: contextvars.Context,
                 finish: Callable[[], None]) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._ctx = ctx
        self._finish: Callable[[], None] | None = finish

    def __iter__(self) -> _ClosingBody:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._ctx.run(iter, self._body)
        return self._ctx.run(next, self._iterator)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                self._ctx.run(close)
        finally:
            finish, self._finish = self._finish, None
            if finish is not None:
                self._ctx.run(finish)
