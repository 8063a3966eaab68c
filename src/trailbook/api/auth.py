"""API-key authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from trailbook.errors import ErrorDetail, Unauthenticated
from trailbook.service.app import Trailbook
from trailbook.service.keys import Principal


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


async def authenticate(request: Request, scope: str) -> Principal:
    tb: Trailbook = request.app.state.trailbook
    principal = await run_in_threadpool(tb.keys.authenticate, bearer_secret(request))
    principal.require(scope)
    return principal
