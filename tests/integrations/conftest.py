"""Helpers of the integration tests: load an example module from examples/, and read
events back from a real Trailbook server (the ``server`` fixture of tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from conftest import RunningServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import examples/<name>.py afresh (its module-level code reads the environment)."""
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"trailbook_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def search(server: RunningServer, **params: Any) -> list[dict[str, Any]]:
    """Every event matching ``params`` (GET /api/v1/events), oldest first."""
    events: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 500, **params}
    while True:
        answer = httpx.get(f"{server.base_url}/api/v1/events", params=query, timeout=30,
                           headers={"Authorization": f"Bearer {server.api_key}"})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events.extend(page["events"])
        if not page.get("next_cursor"):
            return sorted(events, key=lambda e: e["seq"])
        query["cursor"] = page["next_cursor"]


def wait_for(server: RunningServer, count: int, timeout: float = 20.0,
             **params: Any) -> list[dict[str, Any]]:
    """Poll until at least ``count`` events match (a client sends in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = search(server, **params)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
