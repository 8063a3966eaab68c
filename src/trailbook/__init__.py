"""Trailbook: a tamper-evident, self-hosted audit trail service, and its Python SDK.

    import trailbook
    client = trailbook.Client("http://127.0.0.1:8600", "tb_…")
    client.log("invoice.void", actor="u-42", targets=[("invoice", "INV-7")])

The SDK's names are loaded on first use, so importing ``trailbook`` stays light (it
does not load the server, its web framework or its database drivers)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module it comes from
_SDK = {
    "Client": "trailbook.sdk", "AsyncClient": "trailbook.sdk", "LocalClient": "trailbook.sdk",
    "ClientStats": "trailbook.sdk", "context": "trailbook.sdk",
    "current_context": "trailbook.sdk", "AuditContext": "trailbook.sdk",
    "AuditHandler": "trailbook.sdk", "Spool": "trailbook.sdk",
    "InvalidEvent": "trailbook.sdk", "ClientClosed": "trailbook.sdk",
    "SdkError": "trailbook.sdk",
}

__all__ = [
    "AsyncClient", "AuditContext", "AuditHandler", "Client", "ClientClosed", "ClientStats",
    "InvalidEvent", "LocalClient", "SdkError", "Spool", "__version__", "context",
    "current_context",
]

if TYPE_CHECKING:
    from trailbook.sdk import (
        AsyncClient,
        AuditContext,
        AuditHandler,
        Client,
        ClientClosed,
        ClientStats,
        InvalidEvent,
        LocalClient,
        SdkError,
        Spool,
        context,
        current_context,
    )


def __getattr__(name: str) -> Any:
    module = _SDK.get(name)
    if module is None:
        raise AttributeError(f"module 'trailbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
