"""The FastAPI application: routes, error shape, OpenAPI, and the server's scheduled
tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from trailbook import __version__
from trailbook.api import events, exports, facets, health, integrity, proofs, sessions, staff, tail
from trailbook.api.access_log import AccessLog
from trailbook.api.alerts import router as alerts_router
from trailbook.api.annotations import router as annotations_router
from trailbook.api.auth import csrf_guard
from trailbook.api.errors import install_error_handlers
from trailbook.api.render import JsonResponse
from trailbook.api.retention import router as retention_router
from trailbook.api.saved_searches import router as saved_searches_router
from trailbook.api.server_logs import router as server_logs_router
from trailbook.model.event import SERVER_FIELDS, EventIn
from trailbook.service.app import Trailbook
from trailbook.service.scheduler import server_scheduler
from trailbook.web.app import install_pages


def create_app(tb: Trailbook, *, own_trailbook: bool = False) -> FastAPI:
    """Build the app around an open Trailbook. With ``own_trailbook`` the app closes it
    (checkpointing what moved) when the server stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        scheduler = server_scheduler(tb)
        scheduler.start()
        stop_alerts = asyncio.Event()
        alerts = asyncio.create_task(tb.alert_runner.run(stop_alerts), name="alerts")
        try:
            yield
        finally:
            stop_alerts.set()
            await alerts
            scheduler.stop()
            if own_trailbook:
                tb.close()

    # FastAPIOffline: the /docs and /redoc pages load their scripts from Trailbook
    # itself, not from a CDN, so they work on a server without internet access.
    app = FastAPIOffline(
        title="Trailbook",
        version=__version__,
        description="Tamper-evident audit trail: append-only, hash-chained, signed.",
        default_response_class=JsonResponse,
        lifespan=lifespan,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.trailbook = tb
    app.add_middleware(AccessLog)  # one line per request in access.log
    install_error_handlers(app)
    # Before events: /events/export.csv and /events/stream are not /events/{event_id}.
    app.include_router(exports.router)
    app.include_router(tail.router)
    app.include_router(events.router)
    app.include_router(annotations_router)
    app.include_router(facets.router)
    app.include_router(integrity.router)
    app.include_router(proofs.router)
    app.include_router(sessions.router)
    app.include_router(staff.router)
    app.include_router(saved_searches_router)
    app.include_router(server_logs_router)
    app.include_router(alerts_router)
    app.include_router(retention_router)
    app.include_router(health.router)
    install_pages(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _, components = msgspec.json.schema_components(
                [EventIn], ref_template="#/components/schemas/{name}"
            )
            # The decoder knows the server's own fields only to refuse them by name.
            event_schema = components["EventIn"]
            for name in SERVER_FIELDS:
                event_schema["properties"].pop(name, None)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
            schema["components"]["securitySchemes"] = {
                "apiKey": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "trailbook_session"},
            }
            schema["security"] = [{"apiKey": []}, {"session": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
