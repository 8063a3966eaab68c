"""The app for ``trailbook serve --workers N``: each worker process builds its own
settings from the TRAILBOOK_* variables the parent exported, and its own Trailbook."""

from __future__ import annotations

from fastapi import FastAPI

from trailbook.api.app import create_app
from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings


def app_from_environment() -> FastAPI:
    tune_for_throughput()
    return create_app(Trailbook.open(load_settings()), own_trailbook=True)
