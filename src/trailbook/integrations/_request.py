"""What the ASGI, WSGI and Django integrations share: request ids, skipped paths, the
anonymous actor and the ``access`` event. Imports no web framework."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from trailbook.sdk.context import context

logger = logging.getLogger("trailbook.integrations")

ACCESS_ACTION = "http.request"
ACCESS_CATEGORY = "access"
# The actor of requests without a signed-in user (the context's actor, so events the
# application logs during such a request name it too).
ANONYMOUS: dict[str, Any] = {"id": "anonymous", "type": "user", "name": "anonymous"}
REQUEST_ID_HEADER = "X-Request-ID"
MAX_USER_AGENT = 1024
MAX_PATH = 2000
# A request id we accept from the caller: the event field's limit, printable ASCII.
_REQUEST_ID = re.compile(r"[!-~]{1,128}")

Actor = Mapping[str, Any]


class SupportsLog(Protocol):
    """Anything with the SDK's ``log(action, *, ...)``: Client, AsyncClient, LocalClient."""

    @property
    def log(self) -> Callable[..., object]: ...


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` if it is a sane id, else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def user_agent_from(header: str | None) -> str | None:
    return header[:MAX_USER_AGENT] if header else None


class SkipPaths:
    """Paths that get no ``access`` event: an entry matches itself and everything
    below it (``/static`` skips ``/static/app.css``, not ``/staticfiles``); an entry
    ending in ``*`` is a plain prefix (``/health*``)."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, entries: Iterable[str] = ()) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        for entry in entries:
            if entry.endswith("*"):
                prefixes.append(entry[:-1])
            else:
                stripped = entry.rstrip("/") or "/"
                exact.add(stripped)
                prefixes.append(stripped if stripped.endswith("/") else stripped + "/")
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        return path in self.exact or path.startswith(self.prefixes)


def request_context(*, actor: Actor | None, request_id: str, ip: str | None,
                    user_agent: str | None) -> context:
    """``trailbook.context(...)`` for one request (a context manager)."""
    return context(actor=dict(actor) if actor is not None else dict(ANONYMOUS),
                   request_id=request_id, ip=ip, user_agent=user_agent)


def log_access(client: SupportsLog, *, method: str, path: str, status: int,
               duration_s: float, actor: Actor | None) -> None:
    """Log one ``http.request`` event (inside the request's context, which supplies the
    request id, IP and user agent). Never raises: a request must not fail because
    its access event could not be made."""
    try:
        failed = status >= 400
        client.log(
            ACCESS_ACTION,
            actor=dict(actor) if actor is not None else dict(ANONYMOUS),
            category=ACCESS_CATEGORY,
            action_type="read" if method in ("GET", "HEAD", "OPTIONS") else "execute",
            result="failure" if failed else "success",
            reason=f"HTTP {status}" if failed else None,
            severity="warning" if status >= 500 else "info",
            description=f"{method} {path[:200]} -> {status}",
            metadata={"method": method, "path": path[:MAX_PATH], "status": status,
                      "duration_ms": round(duration_s * 1000, 3)},
        )
    except Exception:
        logger.warning("could not log the access event of %s %s", method, path[:200],
                       exc_info=True)
