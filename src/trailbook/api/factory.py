"""The app for ``trailbook serve --workers N``: each worker process builds its own
settings from the TRAILBOOK_* variables the parent exported, and its own Trailbook."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from trailbook.api.app import create_app
from trailbook.logs.setup import install as install_logs
from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def app_from_environment() -> FastAPI:
    tune_for_throughput()
    settings = load_settings()
    # Each worker writes the logs folder too; uvicorn has set its own logger to the
    # serve command's --log-level, which is also what this worker shows on stderr.
    install_logs(settings, console_level=logging.getLogger("uvicorn.error").level
                 or logging.INFO)
    return create_app(Trailbook.open(settings), own_trailbook=True)
