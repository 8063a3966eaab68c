"""One error shape for every HTTP answer:
``{"error": {"code", "message", "details": [{"field", "reason"}]}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trailbook.api.auth import audit_denied
from trailbook.api.render import JsonResponse
from trailbook.errors import ErrorDetail, Forbidden, RateLimited, TrailbookError

log = logging.getLogger("trailbook.api")


def error_body(
    code: str, message: str, details: list[ErrorDetail] | None = None
) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [d.as_dict() for d in details or []],
        }
    }


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TrailbookError)
    async def _trailbook(request: Request, exc: TrailbookError) -> JsonResponse:
        if isinstance(exc, Forbidden):
            try:
                await audit_denied(request, exc)
            except TrailbookError as failed:  # still refuse; say why it is not audited
                log.error("could not audit a refusal: %s", failed.one_line())
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return JsonResponse(exc.as_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JsonResponse:
        details = [
            ErrorDetail(
                ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path")),
                str(err.get("msg", "invalid")),
            )
            for err in exc.errors()
        ]
        return JsonResponse(
            error_body("validation_failed", "the request is not valid", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JsonResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled error", exc_info=exc)
        return JsonResponse(
            error_body("internal_error", "an unexpected error occurred; see the server log"),
            status_code=500,
        )
