"""Mounting the console on the application: its pages and its static files."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from trailbook.web import admin, alerts, exports, login, logs, retention
from trailbook.web import server_logs as server_logs_pages
from trailbook.web.render import STATIC_DIR


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(login.router)
    app.include_router(logs.router)
    app.include_router(admin.router)
    app.include_router(exports.router)
    app.include_router(alerts.router)
    app.include_router(retention.router)
    app.include_router(server_logs_pages.router)
