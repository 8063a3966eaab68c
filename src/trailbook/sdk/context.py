"""Audit context: who is acting, and in which request, for every event logged inside.

Public API::

    with trailbook.context(actor="u-1", request_id="r-9", ip="203.0.113.7"):
        client.log("invoice.update")          # actor, request_id, source.ip filled in

    @trailbook.context(actor={"id": "cron", "type": "system"})
    def nightly() -> None: ...                # also works on ``async def``

    current_context() -> AuditContext

``context(actor=None, request_id=None, session_id=None, ip=None, user_agent=None,
scope=None, **metadata)`` is a context manager and a decorator. It is kept in a
``contextvars.ContextVar``, so it follows the code: each thread and each asyncio task
sees its own, a task created inside inherits it, and nesting merges with the outer
context (inner values win; metadata dicts are merged key by key).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

ActorLike = str | Mapping[str, Any]


def actor_dict(actor: ActorLike) -> dict[str, Any]:
    """``"u-1"`` -> ``{"id": "u-1"}``; a mapping is copied."""
    if isinstance(actor, str):
        return {"id": actor}
    return dict(actor)


@dataclass(frozen=True, slots=True)
class AuditContext:
    """What ``log()`` takes for fields it is not given. ``actor`` is an actor object
    (``{"id": ..., "name": ..., "email": ..., "type": ...}``) or None. Treat it as
    read-only: events share its dicts."""

    actor: Mapping[str, Any] | None = None
    request_id: str | None = None
    session_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    scope: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def merged(self, actor: ActorLike | None = None, request_id: str | None = None,
               session_id: str | None = None, ip: str | None = None,
               user_agent: str | None = None, scope: str | None = None,
               metadata: Mapping[str, Any] | None = None) -> AuditContext:
        """This context with the given values on top (None keeps the outer value)."""
        meta = self.metadata
        if metadata:
            meta = {**self.metadata, **metadata}
        return AuditContext(
            actor=actor_dict(actor) if actor is not None else self.actor,
            request_id=request_id if request_id is not None else self.request_id,
            session_id=session_id if session_id is not None else self.session_id,
            ip=ip if ip is not None else self.ip,
            user_agent=user_agent if user_agent is not None else self.user_agent,
            scope=scope if scope is not None else self.scope,
            metadata=meta,
        )


EMPTY_CONTEXT = AuditContext()
CURRENT: ContextVar[AuditContext] = ContextVar("trailbook_audit_context",
                                                default=EMPTY_CONTEXT)


def current_context() -> AuditContext:
    """The audit context in force here (an empty one outside any ``context()``)."""
    return CURRENT.get()


class context:  # lower case: used like a function, ``with trailbook.context(...)``
    """Set the audit context for a block (``with``) or a function (decorator)."""

    __slots__ = ("_tokens", "_values")

    def __init__(self, actor: ActorLike | None = None, request_id: str | None = None,
                 session_id: str | None = None, ip: str | None = None,
                 user_agent: str | None = None, scope: str | None = None,
                 **metadata: Any) -> None:
        self._values: dict[str, Any] = {
            "actor": actor, "request_id": request_id, "session_id": session_id, "ip": ip,
            "user_agent": user_agent, "scope": scope, "metadata": metadata,
        }
        self._tokens: list[Token[AuditContext]] = []

    def __enter__(self) -> AuditContext:
        merged = CURRENT.get().merged(**self._values)
        self._tokens.append(CURRENT.set(merged))
        return merged

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        CURRENT.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:
        values = self._values
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with _copy(values):
                    return await func(*args, **kwargs)
            return cast(F, run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _copy(values):
                return func(*args, **kwargs)
        return cast(F, run)


def _copy(values: dict[str, Any]) -> context:
    """A fresh ``context`` with the same values: each call of a decorated function
    enters its own, so concurrent calls (threads, tasks) do not share tokens."""
    plain = {k: v for k, v in values.items() if k != "metadata"}
    return context(**plain, **values["metadata"])
