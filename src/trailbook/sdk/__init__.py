"""Trailbook's Python SDK: log audit events from an application.

    import trailbook
    client = trailbook.Client("https://audit.example", "tb_...")
    with trailbook.context(actor="u-1", request_id="r-9"):
        client.log("invoice.update", targets=[("invoice", "inv-7")])

Names: ``Client``, ``AsyncClient``, ``LocalClient``, ``ClientStats``, ``context``,
``current_context``, ``AuditContext``, ``AuditHandler``, ``Spool``, ``InvalidEvent``,
``ClientClosed``, ``SdkError`` (each module's docstring documents its part).
Submodules are imported on first use, so ``import trailbook.sdk`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported now (stdlib only): the name ``context`` must be the class, not the module
# trailbook/sdk/context.py that holds it.
from trailbook.sdk.context import AuditContext, context, current_context

if TYPE_CHECKING:
    from trailbook.sdk.async_client import AsyncClient
    from trailbook.sdk.client import Client, ClientStats
    from trailbook.sdk.errors import ClientClosed, InvalidEvent, SdkError
    from trailbook.sdk.local import LocalClient
    from trailbook.sdk.logging_handler import AuditHandler
    from trailbook.sdk.spool import Spool

_WHERE = {
    "Client": "client", "ClientStats": "client", "AsyncClient": "async_client",
    "LocalClient": "local", "AuditHandler": "logging_handler", "Spool": "spool",
    "InvalidEvent": "errors", "ClientClosed": "errors", "SdkError": "errors",
}

__all__ = [
    "AsyncClient", "AuditContext", "AuditHandler", "Client", "ClientClosed", "ClientStats",
    "InvalidEvent", "LocalClient", "SdkError", "Spool", "context", "current_context",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'trailbook.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(f"trailbook.sdk.{module}"), name)
