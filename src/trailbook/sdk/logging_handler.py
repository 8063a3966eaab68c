"""``AuditHandler``: turn ``logging`` records that carry an ``audit`` extra into events.

Public API::

    handler = AuditHandler(client, level=logging.INFO)
    logging.getLogger("app").addHandler(handler)
    log.info("Refunded order 7", extra={"audit": {"action": "payment.refund",
                                                 "targets": [("order", "7")]}})

The ``audit`` dict holds ``log()``'s keyword arguments plus ``action``. The record's
message becomes ``description`` unless one is given; the level becomes ``severity``
unless one is given (WARNING → warning, ERROR and CRITICAL → critical, else info).
Records without ``audit`` are ignored. An invalid event is reported through
``logging``'s ``handleError`` (it does not raise into the logging call).
"""

from __future__ import annotations

import logging
from typing import Any

from trailbook.sdk._event import EventLogger


def severity_of(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "critical"
    if levelno >= logging.WARNING:
        return "warning"
    return "info"


class AuditHandler(logging.Handler):
    """Sends each record with an ``audit`` extra to ``client`` as an event."""

    def __init__(self, client: EventLogger, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.client = client

    def emit(self, record: logging.LogRecord) -> None:
        audit: Any = getattr(record, "audit", None)
        if not isinstance(audit, dict):
            return
        try:
            fields = dict(audit)
            action = fields.pop("action")
            if fields.get("description") is None:
                fields["description"] = record.getMessage()[:2000]
            if fields.get("severity") is None:
                fields["severity"] = severity_of(record.levelno)
            self.client.log(action, **fields)
        except Exception:
            self.handleError(record)
